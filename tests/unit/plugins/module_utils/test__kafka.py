"""Parsing of Kafka tool output and topic planning (plugins/module_utils/_kafka.py)."""

import pytest
from ansible_collections.keel.infra.plugins.module_utils._kafka import (
    action_commands,
    apply_plan,
    batch_errors,
    config_argument,
    config_errors,
    parse_config_list,
    parse_describe,
    plan_topic,
    plan_topics,
    tool_error,
    topic_name_error,
    topic_pattern,
    topic_view,
    topics_pattern,
)

# As kafka-topics.sh 4.1 prints it for `--describe --topic 'aXb|a\.b'`: each
# topic's summary line, then a line per partition.
DESCRIBE = (
    "Topic: aXb\tTopicId: q1\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: min.insync.replicas=1\n"
    "\tTopic: aXb\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: \n"
    "Topic: a.b\tTopicId: ImfXee2nSsmwF5qofUJNnA\tPartitionCount: 2\tReplicationFactor: 3\t"
    "Configs: min.insync.replicas=2,cleanup.policy=compact,delete,retention.ms=259200000\n"
    "\tTopic: a.b\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3\tElr: \tLastKnownElr: \n"
    "\tTopic: a.b\tPartition: 1\tLeader: 2\tReplicas: 2,3,1\tIsr: 2,3,1\tElr: \tLastKnownElr: \n"
)


def topic(partitions=3, rf=1, **configs):
    return {"name": "orders", "topic_id": "x", "partitions": partitions, "replication_factor": rf, "configs": configs}


def wanted(**kw):
    base = {"name": "orders", "state": "present", "partitions": 3, "replication_factor": 1, "configs": {}}
    base.update(kw)
    return base


@pytest.mark.parametrize("name", ["orders", "finance.gl.journal-posted", "a_b-C.9", "x" * 249])
def test_valid_topic_names(name):
    assert topic_name_error(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [("", "empty"), (".", "'.' or '..'"), ("..", "'.' or '..'"), ("x" * 250, "at most 249"),
     ("bad/name", "characters Kafka rejects"), ("with space", "characters Kafka rejects"),
     ("ümlaut", "characters Kafka rejects")],
)
def test_invalid_topic_names(name, why):
    assert why in topic_name_error(name)


def test_topic_pattern_escapes_dots_only():
    assert topic_pattern("finance.gl.journal-posted") == "finance\\.gl\\.journal-posted"
    assert topic_pattern("a_b-c") == "a_b-c"


def test_topics_pattern_matches_exactly_the_names():
    assert topics_pattern(["finance.gl", "a_b-c"]) == "finance\\.gl|a_b-c"
    assert topics_pattern(["orders"]) == "orders"


def test_parse_describe_reads_every_topic_and_list_values():
    found = parse_describe(DESCRIBE)
    assert sorted(found) == ["a.b", "aXb"]
    assert found["a.b"] == {
        "name": "a.b",
        "topic_id": "ImfXee2nSsmwF5qofUJNnA",
        "partitions": 2,
        "replication_factor": 3,
        "configs": {"min.insync.replicas": "2", "cleanup.policy": "compact,delete", "retention.ms": "259200000"},
    }
    assert found["aXb"]["partitions"] == 1


def test_parse_describe_of_no_topic():
    assert parse_describe("") == {}
    assert parse_describe("WARN some tool warning\n") == {}


def test_parse_describe_without_configs():
    out = "Topic: t\tTopicId: i\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: \n"
    assert parse_describe(out)["t"]["configs"] == {}


def test_parse_config_list_keeps_equals_in_values():
    assert parse_config_list("a=x=y,b=1") == {"a": "x=y", "b": "1"}
    assert parse_config_list("") == {}


def test_config_argument_brackets_list_values():
    assert config_argument({"retention.ms": "1", "cleanup.policy": "compact,delete"}) == (
        "cleanup.policy=[compact,delete],retention.ms=1"
    )


@pytest.mark.parametrize(
    ("configs", "message"),
    [({"retention.ms": -5}, "retention.ms must be -1 (no limit) or more, got -5"),
     ({"retention.bytes": "lots"}, "retention.bytes must be an integer"),
     ({"min.insync.replicas": 0}, "min.insync.replicas must be at least 1"),
     ({"bad=key": 1}, "not a valid Kafka config name")],
)
def test_config_errors(configs, message):
    errors = config_errors(configs)
    assert len(errors) == 1
    assert message in errors[0]


def test_config_errors_accept_unlimited_retention_and_other_values():
    assert config_errors({"retention.ms": -1, "cleanup.policy": ["compact", "delete"], "x.enable": True}) == []


def test_tool_error_finds_the_reason():
    out = ("Error while executing topic command : The topic t1 currently has 2 partition(s); "
           "1 would not be an increase.\n")
    err = "[2026] ERROR org.apache.kafka.common.errors.InvalidPartitionsException: The topic ...\n"
    assert tool_error(out, err).startswith("Error while executing topic command : The topic t1")
    assert tool_error("", "boom\nlast words\n") == "last words"
    assert tool_error("", "") == "no output"


def test_plan_create_when_missing():
    assert plan_topic(None, wanted()) == ([("create",)], [])


def test_plan_nothing_when_matching():
    current = topic(partitions=3, rf=1, **{"retention.ms": "259200000", "min.insync.replicas": "1"})
    assert plan_topic(current, wanted(configs={"retention.ms": 259200000})) == ([], [])


def test_plan_only_changed_configs():
    current = topic(**{"retention.ms": "259200000", "cleanup.policy": "delete"})
    actions, errors = plan_topic(current, wanted(configs={"retention.ms": 86400000, "cleanup.policy": "delete"}))
    assert errors == []
    assert actions == [("configs", {"retention.ms": "86400000"})]


def test_plan_adds_partitions():
    assert plan_topic(topic(partitions=3), wanted(partitions=6)) == ([("partitions", 6)], [])


def test_plan_refuses_fewer_partitions_and_does_nothing_else():
    current = topic(partitions=6, **{"retention.ms": "1"})
    actions, errors = plan_topic(current, wanted(partitions=3, configs={"retention.ms": 2}))
    assert actions == []
    assert "has 6 partitions and 3 were asked for" in errors[0]
    assert "can only add partitions" in errors[0]


def test_plan_refuses_another_replication_factor():
    actions, errors = plan_topic(topic(rf=1), wanted(replication_factor=3))
    assert actions == []
    assert "replication factor 1 and 3 was asked for" in errors[0]


def test_plan_ignores_counts_left_unset():
    assert plan_topic(topic(partitions=9, rf=3), wanted(partitions=None, replication_factor=None)) == ([], [])


def test_plan_refuses_bad_input_even_for_a_missing_topic():
    actions, errors = plan_topic(None, wanted(name="bad/name", partitions=0, configs={"retention.ms": -2}))
    assert actions == []
    assert len(errors) == 3


def test_plan_refuses_min_insync_above_replication_factor():
    _actions, errors = plan_topic(None, wanted(replication_factor=2, configs={"min.insync.replicas": 3}))
    assert "min.insync.replicas=3 is more than its replication factor 2" in errors[0]


def test_plan_absent():
    assert plan_topic(topic(), wanted(state="absent")) == ([("delete",)], [])
    assert plan_topic(None, wanted(state="absent")) == ([], [])


def test_apply_plan_and_view():
    current = topic(partitions=3, **{"retention.ms": "1", "min.insync.replicas": "1"})
    after = apply_plan(current, wanted(), [("partitions", 6), ("configs", {"retention.ms": "2"})])
    assert after["partitions"] == 6
    assert after["configs"] == {"retention.ms": "2", "min.insync.replicas": "1"}
    assert current["configs"]["retention.ms"] == "1", "the current topic must not be changed in place"
    assert topic_view(after, ["retention.ms"]) == {
        "name": "orders", "partitions": 6, "replication_factor": 1, "configs": {"retention.ms": "2"},
    }
    assert topic_view(None, []) == {}
    assert apply_plan(current, wanted(state="absent"), [("delete",)]) is None
    assert apply_plan(None, wanted(state="absent"), []) is None, "an absent topic that does not exist stays absent"
    created = apply_plan(None, wanted(configs={"retention.ms": 5}), [("create",)])
    assert created["configs"] == {"retention.ms": "5"}


def test_batch_errors_name_every_topic_and_duplicates():
    errors = batch_errors([wanted(name="bad/name"), wanted(name="a", configs={"retention.ms": -3}),
                           wanted(name="a"), wanted(name="ok")])
    assert "characters Kafka rejects" in errors[0]
    assert errors[1] == "topic a: config retention.ms must be -1 (no limit) or more, got -3"
    assert errors[2] == "topic a is declared more than once"
    assert len(errors) == 3
    assert batch_errors([wanted(name="a"), wanted(name="b")]) == []


def test_plan_topics_collects_the_errors_of_all_topics():
    current = {"a": dict(topic(partitions=6), name="a"), "b": dict(topic(rf=1), name="b")}
    plans, errors = plan_topics(current, [wanted(name="a", partitions=3), wanted(name="b", replication_factor=3),
                                          wanted(name="c")])
    assert len(errors) == 2
    assert "topic a has 6 partitions and 3 were asked for" in errors[0]
    assert "topic b has replication factor 1 and 3 was asked for" in errors[1]
    assert plans == [[], [], [("create",)]]


def test_plan_topics_in_the_order_declared():
    current = {"a": dict(topic(partitions=3), name="a")}
    plans, errors = plan_topics(current, [wanted(name="b"), wanted(name="a", partitions=4)])
    assert errors == []
    assert plans == [[("create",)], [("partitions", 4)]]


def test_action_commands():
    topic_ = wanted(name="a.b", partitions=6, replication_factor=3, configs={"retention.ms": 1, "x": [1, 2]})
    assert action_commands(topic_, [("create",)]) == [(
        "kafka-topics.sh",
        ["--create", "--topic", "a.b", "--partitions", "6", "--replication-factor", "3",
         "--config", "retention.ms=1", "--config", "x=1,2"],
        "create topic a.b",
    )]
    assert action_commands(topic_, [("partitions", 8), ("configs", {"retention.ms": "2", "x": "1,2"})]) == [
        ("kafka-topics.sh", ["--alter", "--topic", "a\\.b", "--partitions", "8"], "raise partitions of a.b to 8"),
        ("kafka-configs.sh",
         ["--alter", "--entity-type", "topics", "--entity-name", "a.b", "--add-config", "retention.ms=2,x=[1,2]"],
         "set configs of a.b: retention.ms=2, x=1,2"),
    ]
    assert action_commands(topic_, [("delete",)]) == [
        ("kafka-topics.sh", ["--delete", "--topic", "a\\.b", "--if-exists"], "delete topic a.b"),
    ]
    assert action_commands(topic_, []) == []
