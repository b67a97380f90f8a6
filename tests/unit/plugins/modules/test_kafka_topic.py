"""keel.infra.kafka_topic against a fake Kafka (conftest.FakeKafka): run_command answers with recorded tool output."""

from ansible_collections.keel.infra.plugins.modules import kafka_topic

ORDERS = (
    "Topic: orders\tTopicId: abc\tPartitionCount: 3\tReplicationFactor: 1\t"
    "Configs: min.insync.replicas=1,retention.ms=259200000\n"
    "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: \n"
)


def run(run_module, fake, check_mode=False, diff=False, **args):
    args.setdefault("name", "orders")
    args.setdefault("container", "kafka-1")
    return run_module(kafka_topic.main, args, fake, check_mode=check_mode, diff=diff)


def test_creates_a_missing_topic_in_the_container(run_module, fake_kafka):
    fake = fake_kafka("")
    out = run(run_module, fake, partitions=3, replication_factor=1, configs={"retention.ms": 259200000})
    assert not out.failed
    assert out.result["changed"] is True
    assert fake.changes() == [[
        "/usr/bin/docker", "exec",
        "-e", "KAFKA_HEAP_OPTS=-Xmx128M",
        "-e", "KAFKA_JVM_PERFORMANCE_OPTS=-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto",
        "kafka-1", "/opt/kafka/bin/kafka-topics.sh", "--bootstrap-server", "localhost:9092",
        "--create", "--topic", "orders", "--partitions", "3", "--replication-factor", "1",
        "--config", "retention.ms=259200000",
    ]]
    assert out.result["topic"]["configs"] == {"retention.ms": "259200000"}


def test_describe_escapes_the_name_pattern(run_module, fake_kafka):
    fake = fake_kafka("")
    run(run_module, fake, name="a.b", partitions=1)
    assert fake.calls[0][-4:] == ["--describe", "--topic", "a\\.b", "--if-exists"]


def test_no_change_when_the_topic_matches(run_module, fake_kafka):
    fake = fake_kafka(ORDERS)
    out = run(run_module, fake, partitions=3, replication_factor=1, configs={"retention.ms": 259200000})
    assert out.result["changed"] is False
    assert fake.changes() == []


def test_changes_only_the_config_that_differs(run_module, fake_kafka):
    fake = fake_kafka(ORDERS)
    out = run(run_module, fake, partitions=3, configs={"retention.ms": 86400000}, diff=True)
    assert out.result["changed"] is True
    assert out.result["changes"] == ["set configs of orders: retention.ms=86400000"]
    assert fake.changes()[0][-7:] == [
        "--alter", "--entity-type", "topics", "--entity-name", "orders", "--add-config", "retention.ms=86400000",
    ]
    assert "/opt/kafka/bin/kafka-configs.sh" in fake.changes()[0]
    assert out.result["diff"]["before"]["configs"] == {"retention.ms": "259200000"}
    assert out.result["diff"]["after"]["configs"] == {"retention.ms": "86400000"}


def test_raises_partitions(run_module, fake_kafka):
    fake = fake_kafka(ORDERS)
    out = run(run_module, fake, partitions=6)
    assert out.result["changes"] == ["raise partitions of orders to 6"]
    assert fake.changes()[0][-5:] == ["--alter", "--topic", "orders", "--partitions", "6"]


def test_fewer_partitions_fail_and_change_nothing(run_module, fake_kafka):
    fake = fake_kafka(ORDERS)
    out = run(run_module, fake, partitions=1, configs={"retention.ms": 1})
    assert out.failed
    assert "has 3 partitions and 1 were asked for" in out.result["msg"]
    assert fake.changes() == []


def test_bad_input_fails_before_kafka_is_asked(run_module, fake_kafka):
    fake = fake_kafka(ORDERS)
    out = run(run_module, fake, name="bad/name", configs={"retention.ms": -7})
    assert out.failed
    assert "characters Kafka rejects" in out.result["msg"]
    assert "retention.ms must be -1 (no limit) or more, got -7" in out.result["msg"]
    assert fake.calls == []


def test_check_mode_reports_and_changes_nothing(run_module, fake_kafka):
    fake = fake_kafka("")
    out = run(run_module, fake, check_mode=True, diff=True, partitions=2)
    assert out.result["changed"] is True
    assert out.result["changes"] == ["create topic orders"]
    assert out.result["diff"] == {"before": {}, "after": {
        "name": "orders", "partitions": 2, "replication_factor": None, "configs": {}}}
    assert fake.changes() == []


def test_a_failing_tool_is_reported_with_its_reason(run_module, fake_kafka):
    refused = "Error while executing topic command : Replication factor: 3 larger\n"
    fake = fake_kafka("", fail={"--create": (1, refused)})
    out = run(run_module, fake, replication_factor=3)
    assert out.failed
    assert out.result["msg"] == (
        "could not create topic orders: Error while executing topic command : Replication factor: 3 larger"
    )


def test_deletes_with_state_absent(run_module, fake_kafka):
    fake = fake_kafka(ORDERS)
    out = run(run_module, fake, state="absent")
    assert out.result["changed"] is True
    assert fake.changes()[0][-4:] == ["--delete", "--topic", "orders", "--if-exists"]


def test_runs_on_the_host_without_container(run_module, fake_kafka):
    fake = fake_kafka("")
    run(run_module, fake, container=None, partitions=1, command_config="/etc/kafka/admin.properties")
    assert fake.calls[0][:5] == [
        "/opt/kafka/bin/kafka-topics.sh", "--bootstrap-server", "localhost:9092",
        "--command-config", "/etc/kafka/admin.properties",
    ]


def test_list_config_values_are_bracketed(run_module, fake_kafka):
    fake = fake_kafka(ORDERS)
    run(run_module, fake, configs={"cleanup.policy": ["compact", "delete"]})
    assert fake.changes()[0][-1] == "cleanup.policy=[compact,delete]"
