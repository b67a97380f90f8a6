"""One Kafka node with ChiroERP's topics: real records, topic changes, bad input, restarts.

The tests run in file order: the later ones change the topics and restart the node.
"""

import os
import re
import uuid

import pytest
import yaml
from keel_verify import KafkaNode

STACK = "/opt/kafka"
ID_FILE = "/var/lib/keel/kafka/cluster-id"
TEST_TOPIC = "keel.test.orders"
THREE_DAYS = "259200000"
SCENARIO = os.environ.get("MOLECULE_SCENARIO_DIRECTORY", ".")
CONVERGE = os.path.join(SCENARIO, "converge.yml")
GROUP_VARS = os.path.join(SCENARIO, "..", "..", "inventories", "chiroerp", "group_vars", "kafka.yml")


def describe(host):
    """{topic: {partitions, replication_factor, configs}} of every topic."""
    return KafkaNode(host).topics()


def declared_topics():
    with open(GROUP_VARS) as f:
        data = yaml.safe_load(f)
    return data["chiroerp_kafka_topics"]


def test_topics_are_created_as_declared(host):
    topics = describe(host)
    declared = declared_topics()
    assert len(declared) == 15
    for item in declared:
        topic = topics[item["name"]]
        assert topic["partitions"] == item.get("partitions", 3), item["name"]
        assert topic["replication_factor"] == 1
        assert topic["configs"]["retention.ms"] == THREE_DAYS, item["name"]
    assert topics["inventory.stock.level-changed"]["configs"]["cleanup.policy"] == "compact"
    assert topics[TEST_TOPIC] == {
        "partitions": 3,
        "replication_factor": 1,
        "configs": {"min.insync.replicas": "1", "retention.ms": THREE_DAYS},
    }


def test_the_retention_kafka_reports_is_the_one_asked_for(host):
    cmd = KafkaNode(host).tool("kafka-configs.sh", "--describe", "--entity-type", "topics",
                               "--entity-name", "sales.order.created")
    assert cmd.rc == 0, cmd.stderr
    assert f"retention.ms={THREE_DAYS} sensitive=false synonyms={{DYNAMIC_TOPIC_CONFIG:retention.ms={THREE_DAYS}" \
        in cmd.stdout


def test_a_record_produced_is_consumed_back(host):
    message = f"order-{uuid.uuid4()}"
    node = KafkaNode(host)
    cmd = node.produce("sales.order.created", message)
    assert cmd.rc == 0, cmd.stderr
    assert message in node.consume("sales.order.created", 1)


def test_clients_outside_the_host_reach_the_advertised_listener(host):
    # The node advertises the host's address; a client on the host's own network
    # namespace (here: the host itself, through the published port) is sent there.
    address = next(a for a in host.interface.default().addresses if "." in a)
    cmd = host.run(f"docker exec {KafkaNode(host).container} /opt/kafka/bin/kafka-broker-api-versions.sh "
                   f"--bootstrap-server {address}:9092")
    assert cmd.rc == 0, cmd.stderr
    assert f"{address}:9092 (id: 1 rack: null" in cmd.stdout


def test_cluster_id_is_kept_on_the_host_root_only(host):
    kept = host.file(ID_FILE)
    assert (kept.user, kept.group, kept.mode) == ("root", "root", 0o600)
    assert f"cluster.id={kept.content_string.strip()}" in KafkaNode(host).meta_properties()
    assert re.fullmatch(r"[A-Za-z0-9_-]{21}[AQgw]", kept.content_string.strip())


def test_node_runs_with_the_heap_and_limit_asked_for(host):
    container = KafkaNode(host).container
    cmd = host.check_output(f"docker exec {container} cat /proc/1/cmdline")
    assert "-Xmx256m" in cmd
    assert host.check_output(f"docker inspect --format '{{{{.HostConfig.Memory}}}}' {container}") == str(768 * 2**20)


def test_changing_retention_changes_only_that_topic(host, run_playbook):
    before = describe(host)
    run = run_playbook(CONVERGE, "-e", "test_retention_ms=86400000")
    assert run.rc == 0, run.output[-3000:]
    assert run.recap(host.backend.host)["changed"] == 1, run.output[-3000:]
    after = describe(host)
    assert after[TEST_TOPIC]["configs"]["retention.ms"] == "86400000"
    for name, topic in before.items():
        if name != TEST_TOPIC:
            assert after[name] == topic, name


def test_fewer_partitions_fail_clearly_and_change_nothing(host, run_playbook):
    before = describe(host)
    run = run_playbook(CONVERGE, "-e", "test_partitions=1", "-e", "test_retention_ms=1000")
    assert run.rc != 0
    assert run.says(f"topic {TEST_TOPIC} has 3 partitions and 1 were asked for"), run.output[-3000:]
    assert run.says("Kafka can only add partitions")
    assert describe(host) == before


def test_a_refused_topic_leaves_every_other_topic_as_it_is(host, run_playbook):
    # Every ChiroERP topic would get a new retention, but the test topic cannot lose
    # partitions: all topics are checked before any is changed.
    before = describe(host)
    run = run_playbook(CONVERGE, "-e", "test_partitions=1", "-e", '{"kafka_topic_configs": {"retention.ms": 86400000}}')
    assert run.rc != 0
    assert run.says(f"topic {TEST_TOPIC} has 3 partitions and 1 were asked for"), run.output[-3000:]
    assert describe(host) == before


def test_check_mode_shows_the_topic_changes_and_makes_none(host, run_playbook):
    before = describe(host)
    run = run_playbook(CONVERGE, "--check", "--diff", "-e", "test_partitions=4", "-e", "test_retention_ms=3600000")
    assert run.rc == 0, run.output[-3000:]
    # The topics task is the play's last: its diff is all that stands before the recap.
    task = run.output.split("TASK [keel.infra.kafka : Manage the topics]")[1].split("PLAY RECAP")[0]
    assert "changed: [" in task, task
    for line in [r"-\s+partitions: 3", r"\+\s+partitions: 4", r"\+\s+retention\.ms: '3600000'"]:
        assert re.search(f"^{line}$", task, re.MULTILINE), task
    assert describe(host) == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("test_replication_factor=2", f"topic {TEST_TOPIC}: replication_factor 2 is more than the 1 node(s)"),
        ("test_topic_name=bad/name", "topic name 'bad/name' has characters Kafka rejects"),
        ("test_retention_ms=-5", f"topic {TEST_TOPIC}: config retention.ms must be -1 (no limit) or more, got -5"),
    ],
)
def test_bad_input_is_refused_before_any_change(host, run_playbook, extra, message):
    before = describe(host)
    compose_before = host.file(f"{STACK}/compose.yaml").content_string
    run = run_playbook(CONVERGE, "-e", extra)
    assert run.rc != 0
    assert run.says("kafka_topics has errors:"), run.output[-3000:]
    assert run.says(message)
    assert run.recap(host.backend.host)["changed"] == 0
    assert describe(host) == before
    assert host.file(f"{STACK}/compose.yaml").content_string == compose_before


def test_restarts_keep_cluster_id_data_and_topics(host):
    cluster_id = host.file(ID_FILE).content_string.strip()
    message = f"before-restart-{uuid.uuid4()}"
    node = KafkaNode(host)
    assert node.produce(TEST_TOPIC, message).rc == 0
    topics = describe(host)

    # Restart the container, then remove and recreate it from the stack (the data volume stays).
    host.check_output(f"docker restart --time 30 {node.container}")
    node.wait_answering()
    host.check_output(f"docker compose --project-directory {STACK} down --timeout 30")
    host.check_output(f"docker compose --project-directory {STACK} up --detach --wait --wait-timeout 180")
    node.wait_answering()

    assert f"cluster.id={cluster_id}" in node.meta_properties()
    assert describe(host) == topics
    assert message in node.consume(TEST_TOPIC, 1)


def test_restore_then_second_run_changes_nothing(host, run_playbook):
    run = run_playbook(CONVERGE)
    assert run.rc == 0, run.output[-3000:]
    assert describe(host)[TEST_TOPIC]["configs"]["retention.ms"] == THREE_DAYS
    again = run_playbook(CONVERGE)
    assert again.rc == 0
    assert again.recap(host.backend.host)["changed"] == 0, again.output[-3000:]
