"""Three Kafka nodes on one host: one cluster, records while a node is down."""

import re
import time
import uuid

import pytest

TOPIC = "keel.test.shipments"
PORTS = {1: 9092, 2: 9094, 3: 9096}


def tool(host, node, name, *args, stdin=None):
    command = f"docker exec {'-i ' if stdin is not None else ''}kafka-{node} /opt/kafka/bin/{name} " \
              f"--bootstrap-server localhost:{PORTS[node]} " + " ".join(args)
    if stdin is not None:
        command = f"printf '%s\\n' {stdin} | {command}"
    return host.run(command)


def summary(host, node=1):
    cmd = tool(host, node, "kafka-topics.sh", "--describe", "--topic", TOPIC.replace(".", "\\\\."))
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout


@pytest.mark.parametrize("node", [1, 2, 3])
def test_each_node_has_its_own_ports_and_volume(host, node):
    props = host.check_output(f"docker exec kafka-{node} cat /opt/kafka/config/server.properties")
    assert f"node.id={node}" in props.splitlines()
    assert f"listeners=PLAINTEXT://:{PORTS[node]},CONTROLLER://:{PORTS[node] + 1}" in props.splitlines()
    mounts = host.check_output(f"docker inspect --format '{{{{range .Mounts}}}}{{{{.Name}}}} {{{{end}}}}' kafka-{node}")
    assert f"kafka_data-{node}" in mounts.split()


def test_the_quorum_has_three_voters(host):
    cmd = tool(host, 1, "kafka-metadata-quorum.sh", "describe", "--status")
    assert cmd.rc == 0, cmd.stderr
    voters = re.search(r"CurrentVoters:\s*(\[.*\])", cmd.stdout).group(1)
    assert voters.count('"id"') == 3, cmd.stdout


def test_topic_is_replicated_three_times_with_min_insync_2(host):
    out = summary(host)
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
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "Leader: 2\t" in summary(host):
        time.sleep(3)
    message = f"shipment-{uuid.uuid4()}"
    produced = tool(host, 1, "kafka-console-producer.sh", "--topic", TOPIC, "--producer-property", "acks=all",
                    stdin=message)
    assert produced.rc == 0, produced.stderr
    assert "ERROR" not in produced.stderr, produced.stderr
    consumed = tool(host, 3, "kafka-console-consumer.sh", "--topic", TOPIC, "--from-beginning",
                    "--max-messages", "1", "--timeout-ms", "60000")
    assert consumed.rc == 0, consumed.stderr
    assert message in consumed.stdout
