"""A three-node KRaft cluster across three hosts: replication, and records while a broker is down."""

import re
import time
import uuid

import pytest
import testinfra

HOSTS = ["keel-k-c1", "keel-k-c2", "keel-k-c3"]
TOPIC = "keel.test.payments"
# Run once, from the first host; the others are reached through the outer engine.
testinfra_hosts = [f"docker://{HOSTS[0]}"]


def node(name):
    return testinfra.get_host(f"docker://{name}")


def tool(host, container, name, *args, stdin=None):
    command = f"docker exec {'-i ' if stdin is not None else ''}{container} /opt/kafka/bin/{name} " \
              "--bootstrap-server localhost:9092 " + " ".join(args)
    if stdin is not None:
        command = f"printf '%s\\n' {stdin} | {command}"
    return host.run(command)


def summary(host, container="kafka-1"):
    cmd = tool(host, container, "kafka-topics.sh", "--describe", "--topic", TOPIC.replace(".", "\\\\."))
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout


def test_every_host_runs_one_node_with_its_own_id():
    for index, name in enumerate(HOSTS, start=1):
        host = node(name)
        env = host.check_output(f"docker exec kafka-{index} cat /opt/kafka/config/server.properties")
        assert f"node.id={index}\n" in env + "\n"


def test_all_hosts_keep_the_same_cluster_id():
    ids = {node(name).file("/var/lib/keel/kafka/cluster-id").content_string.strip() for name in HOSTS}
    assert len(ids) == 1
    cluster_id = ids.pop()
    for index, name in enumerate(HOSTS, start=1):
        meta = node(name).check_output(f"docker exec kafka-{index} cat /var/lib/kafka/data/meta.properties")
        assert f"cluster.id={cluster_id}" in meta


def test_the_quorum_has_three_voters(host):
    cmd = host.run("docker exec kafka-1 /opt/kafka/bin/kafka-metadata-quorum.sh --bootstrap-server localhost:9092 "
                   "describe --status")
    assert cmd.rc == 0, cmd.stderr
    voters = re.search(r"CurrentVoters:\s*(\[.*\])", cmd.stdout).group(1)
    assert voters.count('"id"') == 3, cmd.stdout


def test_topic_has_replication_factor_3_and_min_insync_2(host):
    out = summary(host)
    assert "PartitionCount: 6\tReplicationFactor: 3\t" in out
    assert "min.insync.replicas=2" in out
    assert "retention.ms=604800000" in out
    isr = re.findall(r"Isr: ([0-9,]+)", out)
    assert len(isr) == 6
    assert all(len(i.split(",")) == 3 for i in isr), out


@pytest.fixture
def third_broker_stopped():
    third = node(HOSTS[2])
    third.check_output("docker stop --time 30 kafka-3")
    try:
        yield
    finally:
        third.check_output("docker start kafka-3")


def test_records_flow_while_one_broker_is_down(host, third_broker_stopped):
    # Wait until the leaders have moved away from the stopped broker.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        current = summary(host)
        if "Leader: 3\t" not in current and "Leader: none" not in current:
            break
        time.sleep(3)
    message = f"payment-{uuid.uuid4()}"
    produced = tool(host, "kafka-1", "kafka-console-producer.sh", "--topic", TOPIC,
                    "--producer-property", "acks=all", stdin=message)
    assert produced.rc == 0, produced.stderr
    assert "ERROR" not in produced.stderr, produced.stderr
    second = node(HOSTS[1])
    consumed = tool(second, "kafka-2", "kafka-console-consumer.sh", "--topic", TOPIC, "--from-beginning",
                    "--max-messages", "1", "--timeout-ms", "60000")
    assert consumed.rc == 0, consumed.stderr
    assert message in consumed.stdout
