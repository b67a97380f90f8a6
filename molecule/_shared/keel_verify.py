"""What the scenarios' testinfra verifiers share: playbook runs and their recap, Kafka's tools.

Molecule runs pytest in the scenario's folder; molecule/conftest.py, which pytest loads for
every scenario, puts this folder on sys.path. A test imports what it needs:

    from keel_verify import KafkaNode

and gets playbook runs from the `run_playbook` fixture of molecule/conftest.py.
"""

import json
import os
import re
import shlex
import subprocess
import time

# A line of the PLAY RECAP: "keel-stack    : ok=25   changed=11   unreachable=0   failed=0 ...".
RECAP_LINE = re.compile(r"^(\S+)\s+:\s+(ok=\d+(?:\s+\w+=\d+)*)\s*$")


class PlaybookRun:
    """One ansible-playbook run: its exit code, its output and its PLAY RECAP."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr

    def recaps(self):
        """{host: {'ok': 12, 'changed': 1, ...}} of every host of the PLAY RECAP."""
        found = {}
        for line in self.output.splitlines():
            match = RECAP_LINE.match(line)
            if match:
                found[match[1]] = {k: int(v) for k, v in (item.split("=") for item in match[2].split())}
        return found

    def recap(self, host=None):
        """The PLAY RECAP counters of host; without a host, of the one host the run reached."""
        recaps = self.recaps()
        if host is None and len(recaps) == 1:
            host = next(iter(recaps))
        if host not in recaps:
            raise AssertionError(f"no recap for {host or 'a single host'} in:\n{self.output[-3000:]}")
        return recaps[host]

    def says(self, text):
        """Whether the output holds text, whatever the spacing: the YAML callback folds long messages
        at its width, so where a message breaks depends on the length of paths and names in it."""
        return " ".join(text.split()) in " ".join(self.output.split())

    def failure(self, width=4000):
        """The output from the header of the first failed task on (or its end when none failed), for assertion
        messages: which task failed, and how."""
        starts = [i for i in (self.output.find("fatal: ["), self.output.find("failed: [")) if i >= 0]
        if not starts:
            return self.output[-width:]
        start = min(starts)
        header = self.output.rfind("\nTASK [", 0, start)
        return self.output[header + 1 if header >= 0 else start:][:width]

    def changed(self, host):
        """changed= of host; 0 for a host that no play reached (the run stopped before its play)."""
        recaps = self.recaps()
        assert recaps, f"no PLAY RECAP in:\n{self.output[-3000:]}"
        return recaps.get(host, {"changed": 0})["changed"]


def run_playbook(playbook, *args, inventory=None, cwd=None, timeout=900):
    """Run a playbook as Molecule runs its steps and return the PlaybookRun.

    inventory: a path or a list of paths; Molecule's inventory of the scenario when None.
    """
    sources = inventory if isinstance(inventory, list) else [inventory or os.environ["MOLECULE_INVENTORY_FILE"]]
    command = ["ansible-playbook"]
    for source in sources:
        command += ["-i", str(source)]
    proc = subprocess.run(
        [*command, str(playbook), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        # The tests read the output: no colour codes inside the words they look for.
        env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )
    return PlaybookRun(proc)


def wait_for(check, seconds, what):
    """check()'s first true answer, asked once a second for at most ``seconds``; an AssertionError naming what."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds}s waiting for {what}")
        time.sleep(1)


def curl(runner, *args, cafile):
    """curl's status code and body on a testinfra host, trusting only the CA file given."""
    cmd = runner.run("curl -sS --max-time 20 --cacert %s -w '\\n%%{http_code}' %s"
                     % (shlex.quote(cafile), " ".join(shlex.quote(a) for a in args)))
    assert cmd.rc == 0, cmd.stderr
    body, _newline, code = cmd.stdout.rpartition("\n")
    return int(code), body


def call_json(runner, method, url, body=None, *, cafile):
    """A JSON API call with curl on a testinfra host: the status code and the decoded answer."""
    args = ["-X", method, url] + (["-H", "Content-Type: application/json", "--data", json.dumps(body)] if body else [])
    code, text = curl(runner, *args, cafile=cafile)
    return code, json.loads(text)


class VoucherShop:
    """The 5SOffice stand-in's order API as a runner reaches it (the API's base URL), and the stub chain
    (its URL, from chain_runner, default the same runner) an order is redeemed on."""

    def __init__(self, runner, api, chain, *, cafile, chain_runner=None):
        self.runner, self.api, self.chain, self.cafile = runner, api, chain, cafile
        self.chain_runner = chain_runner or runner

    def call(self, method, path, body=None):
        return call_json(self.runner, method, self.api + path, body, cafile=self.cafile)

    def order(self, site):
        """A new order, PENDING."""
        code, order = self.call("POST", "/orders", {"site": site})
        assert code == 201 and order["status"] == "PENDING", order
        return order

    def redeem(self, order):
        """The order redeemed on the chain: the block of its redemption."""
        redeem = json.dumps({"order_hash": order["order_hash"]})
        answer = self.chain_runner.check_output(f"curl -sS -X POST --data {shlex.quote(redeem)} {self.chain}/redeem")
        return json.loads(answer)["block"]

    def status(self, order):
        return self.call("GET", f"/orders/{order['order_hash']}")[1]

    def wait_valid(self, order, seconds):
        """The order once the listener has confirmed its redemption (VALID)."""
        def valid():
            answer = self.status(order)
            return answer if answer["status"] == "VALID" else None

        return wait_for(valid, seconds, "the order to become VALID")


class KafkaNode:
    """One node of the kafka role: its container on a test host and the client port it listens on."""

    def __init__(self, host, container="kafka-1", port=9092):
        self.host = host
        self.container = container
        self.port = port

    def tool(self, name, *args, stdin=None):
        """Run a tool of the node's /opt/kafka/bin against the node; stdin: one line to feed it."""
        command = f"docker exec {'-i ' if stdin is not None else ''}{self.container} /opt/kafka/bin/{name} " \
                  f"--bootstrap-server localhost:{self.port} " + " ".join(args)
        if stdin is not None:
            command = f"printf '%s\\n' {stdin} | {command}"
        return self.host.run(command)

    def describe(self, topic=None):
        """kafka-topics --describe of one topic (every topic without one), as the tool prints it."""
        cmd = self.tool("kafka-topics.sh", "--describe", *(["--topic", topic.replace(".", "\\\\.")] if topic else []))
        assert cmd.rc == 0, cmd.stderr
        return cmd.stdout

    def topics(self):
        """{topic: {partitions, replication_factor, configs}} of every topic."""
        topics = {}
        for line in self.describe().splitlines():
            if not line.startswith("Topic:"):
                continue
            fields = dict(f.split(": ", 1) if ": " in f else (f.rstrip(":"), "") for f in line.split("\t"))
            configs = dict(re.findall(r"([a-z.]+)=([^,]*(?:,[^,=]*(?=,|$))*)", fields.get("Configs", "")))
            topics[fields["Topic"]] = {
                "partitions": int(fields["PartitionCount"]),
                "replication_factor": int(fields["ReplicationFactor"]),
                "configs": configs,
            }
        return topics

    def produce(self, topic, message, *args):
        """Send one record; args: more producer options (e.g. --producer-property acks=all)."""
        return self.tool("kafka-console-producer.sh", "--topic", topic, *args, stdin=message)

    def produce_acked(self, topic, message):
        """Send one record that every in-sync replica must take (acks=all); fail on any producer error."""
        produced = self.produce(topic, message, "--producer-property", "acks=all")
        assert produced.rc == 0, produced.stderr
        assert "ERROR" not in produced.stderr, produced.stderr

    def consume(self, topic, count, timeout_ms=30000):
        """The first count records of topic, one a line."""
        cmd = self.tool("kafka-console-consumer.sh", "--topic", topic, "--from-beginning",
                        "--max-messages", str(count), "--timeout-ms", str(timeout_ms))
        assert cmd.rc == 0, cmd.stderr
        return cmd.stdout.splitlines()

    def voters(self):
        """The KRaft quorum's CurrentVoters, as kafka-metadata-quorum prints them ('[{"id": 1, ...}, ...]')."""
        cmd = self.tool("kafka-metadata-quorum.sh", "describe", "--status")
        assert cmd.rc == 0, cmd.stderr
        return re.search(r"CurrentVoters:\s*(\[.*\])", cmd.stdout).group(1)

    def server_properties(self):
        return self.host.check_output(f"docker exec {self.container} cat /opt/kafka/config/server.properties")

    def meta_properties(self):
        """The storage's meta.properties (cluster.id, node.id), on the node's data volume."""
        return self.host.check_output(f"docker exec {self.container} cat /var/lib/kafka/data/meta.properties")

    def wait_answering(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.tool("kafka-topics.sh", "--list").rc == 0:
                return
            time.sleep(3)
        raise AssertionError(f"{self.container} did not answer within {timeout} s")

    def wait_leaders_elsewhere(self, topic, node_id, timeout=120):
        """Wait (bounded) until every partition of topic has a leader, none of them node_id (a stopped node)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.describe(topic)
            if f"Leader: {node_id}\t" not in current and "Leader: none" not in current:
                return
            time.sleep(3)
