"""Three Kafka nodes on one host: one cluster, records while a node is down."""

import uuid

import pytest
from keel_verify import KafkaNode

TOPIC = "keel.test.shipments"
PORTS = {1: 9092, 2: 9094, 3: 9096}


def node(host, index):
    """Node index (1, 2, 3): container kafka-<index>, listening on its own port."""
    return KafkaNode(host, f"kafka-{index}", PORTS[index])


@pytest.mark.parametrize("index", [1, 2, 3])
def test_each_node_has_its_own_ports_and_volume(host, index):
    props = node(host, index).server_properties()
    assert f"node.id={index}" in props.splitlines()
    assert f"listeners=PLAINTEXT://:{PORTS[index]},CONTROLLER://:{PORTS[index] + 1}" in props.splitlines()
    container = node(host, index).container
    mounts = host.check_output(f"docker inspect --format '{{{{range .Mounts}}}}{{{{.Name}}}} {{{{end}}}}' {container}")
    assert f"kafka_data-{index}" in mounts.split()


def test_the_quorum_has_three_voters(host):
    voters = node(host, 1).voters()
    assert voters.count('"id"') == 3, voters


def test_topic_is_replicated_three_times_with_min_insync_2(host):
    out = node(host, 1).describe(TOPIC)
    assert "PartitionCount: 3\tReplicationFactor: 3\t" in out
    assert "min.insync.replicas=2" in out


@pytest.fixture
def second_node_stopped(host):
    host.check_output("docker stop --time 30 kafka-2")
    try:
        yield
    finally:
        host.check_output("docker start kafka-2")


def test_records_flow_while_one_node_is_down(host, second_node_stopped):
    first = node(host, 1)
    first.wait_leaders_elsewhere(TOPIC, 2)
    message = f"shipment-{uuid.uuid4()}"
    first.produce_acked(TOPIC, message)
    assert message in node(host, 3).consume(TOPIC, 1, timeout_ms=60000)
