"""A three-node KRaft cluster across three hosts: replication, and records while a broker is down."""

import re
import uuid

import pytest
import testinfra
from keel_verify import KafkaNode

HOSTS = ["keel-k-c1", "keel-k-c2", "keel-k-c3"]
TOPIC = "keel.test.payments"
# Run once, from the first host; the others are reached through the outer engine.
testinfra_hosts = [f"docker://{HOSTS[0]}"]


def node(index):
    """Node index (1, 2, 3): container kafka-<index> on the index-th host."""
    return KafkaNode(testinfra.get_host(f"docker://{HOSTS[index - 1]}"), f"kafka-{index}")


def test_every_host_runs_one_node_with_its_own_id():
    for index in range(1, len(HOSTS) + 1):
        env = node(index).server_properties()
        assert f"node.id={index}\n" in env + "\n"


def test_all_hosts_keep_the_same_cluster_id():
    ids = {node(index).host.file("/var/lib/keel/kafka/cluster-id").content_string.strip()
           for index in range(1, len(HOSTS) + 1)}
    assert len(ids) == 1
    cluster_id = ids.pop()
    for index in range(1, len(HOSTS) + 1):
        assert f"cluster.id={cluster_id}" in node(index).meta_properties()


def test_the_quorum_has_three_voters(host):
    voters = KafkaNode(host).voters()
    assert voters.count('"id"') == 3, voters


def test_topic_has_replication_factor_3_and_min_insync_2(host):
    out = KafkaNode(host).describe(TOPIC)
    assert "PartitionCount: 6\tReplicationFactor: 3\t" in out
    assert "min.insync.replicas=2" in out
    assert "retention.ms=604800000" in out
    isr = re.findall(r"Isr: ([0-9,]+)", out)
    assert len(isr) == 6
    assert all(len(i.split(",")) == 3 for i in isr), out


@pytest.fixture
def third_broker_stopped():
    third = node(3)
    third.host.check_output(f"docker stop --time 30 {third.container}")
    try:
        yield
    finally:
        third.host.check_output(f"docker start {third.container}")


def test_records_flow_while_one_broker_is_down(host, third_broker_stopped):
    first = KafkaNode(host)
    first.wait_leaders_elsewhere(TOPIC, 3)
    message = f"payment-{uuid.uuid4()}"
    first.produce_acked(TOPIC, message)
    assert message in node(2).consume(TOPIC, 1, timeout_ms=60000)
