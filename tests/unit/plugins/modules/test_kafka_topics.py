"""keel.infra.kafka_topics against a fake Kafka (conftest.FakeKafka): one describe for all topics."""

from ansible_collections.keel.infra.plugins.modules import kafka_topics

# As kafka-topics.sh 4.1 prints `--describe --topic 'orders|audit\.log|payments'`
# when orders and audit.log exist.
DESCRIBE = (
    "Topic: orders\tTopicId: abc\tPartitionCount: 3\tReplicationFactor: 1\t"
    "Configs: min.insync.replicas=1,retention.ms=259200000\n"
    "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: \n"
    "Topic: audit.log\tTopicId: def\tPartitionCount: 1\tReplicationFactor: 1\t"
    "Configs: cleanup.policy=compact,delete\n"
    "\tTopic: audit.log\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: \n"
)
THREE_DAYS = 259200000


def topics(**changes):
    """orders and audit.log as they are in DESCRIBE, payments missing; changes replace items by name."""
    items = [
        {"name": "orders", "partitions": 3, "replication_factor": 1, "configs": {"retention.ms": THREE_DAYS}},
        {"name": "audit.log", "partitions": 1, "configs": {"cleanup.policy": ["compact", "delete"]}},
        {"name": "payments", "partitions": 6, "configs": {"retention.ms": THREE_DAYS}},
    ]
    return [dict(item, **changes.get(item["name"].replace(".", "_"), {})) for item in items]


def run(run_module, fake, items, check_mode=False, diff=False, **args):
    args = dict(args, topics=items)
    args.setdefault("container", "kafka-1")
    return run_module(kafka_topics.main, args, fake, check_mode=check_mode, diff=diff)


def test_one_describe_for_all_topics_and_nothing_else_when_they_match(run_module, fake_kafka):
    fake = fake_kafka(DESCRIBE)
    items = topics()[:2]
    out = run(run_module, fake, items)
    assert not out.failed
    assert out.result["changed"] is False
    assert len(fake.calls) == 1
    assert fake.calls[0][-4:] == ["--describe", "--topic", "orders|audit\\.log", "--if-exists"]
    assert [t["name"] for t in out.result["topics"]] == ["orders", "audit.log"]
    assert out.result["topics"][1]["topic"]["configs"] == {"cleanup.policy": "compact,delete"}
    assert out.result["changes"] == []


def test_only_the_changes_that_are_needed_are_run(run_module, fake_kafka):
    fake = fake_kafka(DESCRIBE)
    out = run(run_module, fake, topics(orders={"configs": {"retention.ms": 86400000}}))
    assert out.result["changed"] is True
    assert out.result["changes"] == ["set configs of orders: retention.ms=86400000", "create topic payments"]
    assert [c[-3:] for c in fake.changes()] == [
        ["orders", "--add-config", "retention.ms=86400000"],
        ["6", "--config", "retention.ms=259200000"],
    ]
    assert [(t["name"], t["changed"]) for t in out.result["topics"]] == [
        ("orders", True), ("audit.log", False), ("payments", True),
    ]
    assert [t["commands"] for t in out.result["topics"]] == [[fake.changes()[0]], [], [fake.changes()[1]]]


def test_refusals_of_all_topics_come_before_any_change(run_module, fake_kafka):
    fake = fake_kafka(DESCRIBE)
    out = run(run_module, fake, topics(orders={"partitions": 1}, audit_log={"replication_factor": 3}))
    assert out.failed
    assert "topic orders has 3 partitions and 1 were asked for" in out.result["msg"]
    assert "topic audit.log has replication factor 1 and 3 was asked for" in out.result["msg"]
    assert fake.changes() == [], "payments would be created: nothing may change while another topic is refused"
    assert out.result["changed"] is False
    assert out.result["topics"] == []


def test_bad_input_of_any_topic_fails_before_kafka_is_asked(run_module, fake_kafka):
    fake = fake_kafka(DESCRIBE)
    items = topics(payments={"name": "bad/name"}, orders={"configs": {"retention.ms": -7}}) + [{"name": "orders"}]
    out = run(run_module, fake, items)
    assert out.failed
    assert "characters Kafka rejects" in out.result["msg"]
    assert "topic orders: config retention.ms must be -1 (no limit) or more, got -7" in out.result["msg"]
    assert "topic orders is declared more than once" in out.result["msg"]
    assert fake.calls == []


def test_check_mode_and_diff_show_the_topics_that_change(run_module, fake_kafka):
    fake = fake_kafka(DESCRIBE)
    out = run(run_module, fake, topics(orders={"partitions": 4}), check_mode=True, diff=True)
    assert out.result["changed"] is True
    assert out.result["changes"] == ["raise partitions of orders to 4", "create topic payments"]
    assert fake.changes() == []
    assert out.result["diff"]["before"] == {
        "orders": {"name": "orders", "partitions": 3, "replication_factor": 1,
                   "configs": {"retention.ms": "259200000"}},
    }
    assert sorted(out.result["diff"]["after"]) == ["orders", "payments"]
    assert out.result["diff"]["after"]["orders"]["partitions"] == 4
    assert out.result["diff"]["after"]["payments"] == {
        "name": "payments", "partitions": 6, "replication_factor": None, "configs": {"retention.ms": "259200000"},
    }
    assert "diff" not in out.result["topics"][0]


def test_deletes_only_the_topics_that_exist(run_module, fake_kafka):
    fake = fake_kafka(DESCRIBE)
    out = run(run_module, fake, [{"name": "audit.log", "state": "absent"}, {"topic": "gone", "state": "absent"}])
    assert out.result["changes"] == ["delete topic audit.log"]
    assert fake.changes()[0][-4:] == ["--delete", "--topic", "audit\\.log", "--if-exists"]
    assert out.result["topics"][0]["topic"] == {}
    assert out.result["topics"][1] == {
        "name": "gone", "state": "absent", "changed": False, "changes": [], "commands": [], "topic": {},
    }


def test_a_failing_change_reports_what_was_done_before_it(run_module, fake_kafka):
    fake = fake_kafka(DESCRIBE, fail={"--create": (1, "Error while executing topic command : Replication factor: 3 "
                                                      "larger than available brokers: 1.\n")})
    out = run(run_module, fake, topics(orders={"configs": {"retention.ms": 1}}, payments={"replication_factor": 3}))
    assert out.failed
    assert out.result["msg"].startswith("could not create topic payments: Error while executing topic command")
    assert out.result["changed"] is True
    assert out.result["changes"] == ["set configs of orders: retention.ms=1"]
    assert [t["name"] for t in out.result["topics"]] == ["orders", "audit.log", "payments"]
    assert out.result["topics"][2]["changed"] is False


def test_a_failing_describe_changes_nothing(run_module, fake_kafka):
    def broker_down(argv, **_kw):
        return 1, "", "org.apache.kafka.common.errors.TimeoutException: Timed out waiting for a node assignment.\n"

    out = run(run_module, broker_down, topics())
    assert out.failed
    assert out.result["msg"] == (
        "could not describe topics orders, audit.log, payments: org.apache.kafka.common.errors.TimeoutException: "
        "Timed out waiting for a node assignment."
    )
    assert out.result["changed"] is False


def test_tools_on_the_host_with_their_options(run_module, fake_kafka):
    fake = fake_kafka("")
    run(run_module, fake, [{"name": "orders"}], container=None, bootstrap_server="broker1:9093",
        kafka_bin="/usr/local/kafka/bin/", command_config="/etc/kafka/admin.properties")
    assert fake.calls[0][:5] == [
        "/usr/local/kafka/bin/kafka-topics.sh", "--bootstrap-server", "broker1:9093",
        "--command-config", "/etc/kafka/admin.properties",
    ]
    assert fake.calls[1][5:] == ["--create", "--topic", "orders"]
