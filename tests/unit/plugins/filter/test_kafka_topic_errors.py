"""The kafka role's topic check is the module's own code: what the module refuses, the role refuses first."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.filter.kafka import kafka_topic_errors


def topic(**extra):
    base = dict(name="erp.orders", state="present", partitions=3, replication_factor=1, configs={})
    base.update(extra)
    return base


def test_valid_topics_have_no_errors():
    assert kafka_topic_errors([topic(), topic(name="erp.audit", configs={"retention.ms": -1})], 1) == []


@pytest.mark.parametrize("bad, message", [
    # Found in review: the role's old check did not know local.retention.*, the module did.
    (topic(configs={"local.retention.ms": -5}), "config local.retention.ms must be -1 (no limit) or more, got -5"),
    (topic(configs={"retention.ms": "soon"}), "config retention.ms must be an integer"),
    (topic(name="bad/name"), "has characters Kafka rejects"),
    (topic(replication_factor=2), "replication_factor 2 is more than the 1 node(s)"),
    (topic(partitions="three"), "partitions must be a whole number, got 'three'"),
    (topic(state="gone"), "state must be present or absent"),
    (topic(configs={"min.insync.replicas": 2}), "min.insync.replicas=2 is more than its replication factor 1"),
])
def test_each_broken_rule_is_named_with_its_value(bad, message):
    errors = kafka_topic_errors([bad], 1)
    assert any(message in error for error in errors), errors


def test_a_name_declared_twice_is_refused():
    assert kafka_topic_errors([topic(), topic()], 1) == ["topic erp.orders is declared more than once"]


def test_input_that_is_not_a_topic_list_is_refused():
    with pytest.raises(AnsibleFilterError):
        kafka_topic_errors({"name": "x"}, 1)
