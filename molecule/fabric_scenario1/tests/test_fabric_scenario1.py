"""ThermoTrace scenario 1: a real Fabric network on one host, driven the way its users drive it."""

import json
import os
import re
import shlex
import tempfile
from pathlib import Path

import pytest
import testinfra
import yaml
from keel_verify import wait_for
from thermotrace_verify import channel_config

HOST = "keel-fabric1"
CHANNEL = "thermotrace"
TOOLS = "thermotrace-tools"
BASE = "/var/lib/keel/fabric"
PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
CONVERGE = str(Path(__file__).resolve().parents[1] / "converge.yml")

ORDERERS = {f"orderer{i}.orderer.thermotrace.example": (port, port + 3, port + 10000)
            for i, port in ((1, 8050), (2, 9050), (3, 10050))}
PEERS = {"manufacturer": ("ManufacturerMSP", "peer0.manufacturer.thermotrace.example:9051"),
         "mrolab": ("MROLabMSP", "peer0.mrolab.thermotrace.example:7051")}
ORDERER_CA = f"{BASE}/orderer.thermotrace.example/tlsca/tlsca.crt"
ORDERER_ADMIN = f"{BASE}/orderer.thermotrace.example/admins/admin.orderer.thermotrace.example/tls"

testinfra_hosts = [HOST]


def _domain(org):
    return f"{org}.thermotrace.example"


def _peer_env(org):
    msp_id, address = PEERS[org]
    domain = _domain(org)
    return {
        "CORE_PEER_LOCALMSPID": msp_id,
        "CORE_PEER_MSPCONFIGPATH": f"{BASE}/{domain}/admins/admin.{domain}/msp",
        "CORE_PEER_ADDRESS": address,
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_ROOTCERT_FILE": f"{BASE}/{domain}/tlsca/tlsca.crt",
    }


def tools(host, args, env=None):
    """Run a Fabric CLI in the host's tools container."""
    flags = " ".join(f"-e {shlex.quote(k + '=' + v)}" for k, v in (env or {}).items())
    return host.run(f"docker exec {flags} {TOOLS} {' '.join(shlex.quote(a) for a in args)}")


def height(host, org):
    out = tools(host, ["peer", "channel", "getinfo", "-c", CHANNEL], _peer_env(org))
    assert out.rc == 0, out.stderr
    return json.loads(re.search(r"Blockchain info:\s*(\{.*\})", out.stdout).group(1))["height"]


def orderer_channel(host, fqdn):
    _port, admin, _ops = ORDERERS[fqdn]
    out = tools(host, ["osnadmin", "channel", "list", "--channelID", CHANNEL, "-o", f"{fqdn}:{admin}",
                       "--ca-file", ORDERER_CA, "--client-cert", f"{ORDERER_ADMIN}/client.crt",
                       "--client-key", f"{ORDERER_ADMIN}/client.key"])
    assert "Status: 200" in out.stdout, out.stdout + out.stderr
    return json.loads(out.stdout.split("\n", 1)[1])


def raft_leaders(host):
    """Orderers whose operations endpoint says they lead the channel's Raft cluster."""
    leaders = []
    for fqdn, (_port, _admin, ops) in ORDERERS.items():
        out = host.run(f"python3 -c \"import urllib.request; print(urllib.request.urlopen("
                       f"'http://127.0.0.1:{ops}/metrics', timeout=5).read().decode())\"")
        if out.rc != 0:
            continue
        match = re.search(r'^consensus_etcdraft_is_leader\{channel="%s"\} (\S+)$' % CHANNEL, out.stdout, re.M)
        if match and float(match.group(1)) == 1:
            leaders.append(fqdn)
    return leaders


def invoke(host, function, *args, orderer="orderer1.orderer.thermotrace.example"):
    """Submit a transaction through Manufacturer's admin, endorsed by both organizations' peers."""
    cmd = ["peer", "chaincode", "invoke", "-o", f"{orderer}:{ORDERERS[orderer][0]}", "--tls", "--cafile",
           ORDERER_CA, "-C", CHANNEL, "-n", "thermotrace", "--waitForEvent"]
    for org in PEERS:
        cmd += ["--peerAddresses", PEERS[org][1], "--tlsRootCertFiles",
                f"{BASE}/{_domain(org)}/tlsca/tlsca.crt"]
    cmd += ["-c", json.dumps({"function": function, "Args": list(args)})]
    return tools(host, cmd, _peer_env("manufacturer"))


def query(host, org, function, *args):
    return tools(host, ["peer", "chaincode", "query", "-C", CHANNEL, "-n", "thermotrace", "-c",
                        json.dumps({"function": function, "Args": list(args)})], _peer_env(org))


def succeeded(run):
    """The command's result when it succeeded, else None (for wait_for)."""
    return run if run.rc == 0 else None


def test_channel_on_every_orderer_with_one_raft_leader(host):
    for fqdn in ORDERERS:
        info = orderer_channel(host, fqdn)
        assert info["status"] == "active" and info["consensusRelation"] == "consenter", info
    assert len(wait_for(lambda: raft_leaders(host), 30, "a Raft leader")) == 1


def test_both_peers_joined_at_the_same_height(host):
    assert wait_for(lambda: height(host, "manufacturer") == height(host, "mrolab") > 0, 30, "equal heights")


def test_reading_committed_through_one_org_is_read_through_the_other(host):
    out = invoke(host, "recordReading", "SHP-1", "sensor-a", "4.5", "C", "2026-11-22T10:00:00Z")
    assert out.rc == 0 and "status:200" in out.stderr, out.stderr
    out = invoke(host, "recordReading", "SHP-1", "sensor-a", "5.0", "C", "2026-11-22T10:05:00Z")
    assert out.rc == 0, out.stderr
    history = json.loads(query(host, "mrolab", "getShipmentHistory", "SHP-1").stdout)
    assert [r["value"] for r in history][:2] == [4.5, 5.0]
    assert {r["sensorId"] for r in history} == {"sensor-a"}


def test_reading_without_sensor_id_is_rejected_with_the_contract_message(host):
    before = height(host, "manufacturer")
    out = invoke(host, "recordReading", "SHP-1", "", "4.5", "C", "2026-11-22T11:00:00Z")
    assert out.rc != 0
    assert "sensorId is missing" in out.stderr, out.stderr
    assert height(host, "manufacturer") == before


def test_restart_of_every_container_keeps_the_ledger(host):
    before = height(host, "mrolab")
    assert host.run("docker restart $(docker ps -q)").rc == 0
    wait_for(lambda: tools(host, ["peer", "channel", "list"], _peer_env("mrolab")).rc == 0, 90, "peers back")
    assert wait_for(lambda: height(host, "mrolab") >= before, 60, "the ledger back")
    out = wait_for(lambda: succeeded(invoke(host, "recordReading", "SHP-2", "sensor-b", "3.0", "C",
                                            "2026-11-22T12:00:00Z")), 90, "a commit after the restart")
    assert out.rc == 0
    assert wait_for(lambda: height(host, "mrolab") >= before + 1, 30, "the new block on MRO Lab's peer")


def test_transaction_commits_with_one_orderer_down_and_it_catches_up(host):
    leader = wait_for(lambda: raft_leaders(host), 60, "a Raft leader")[0]
    others = [o for o in ORDERERS if o != leader]
    assert host.run(f"docker stop {leader}").rc == 0
    try:
        out = wait_for(lambda: succeeded(invoke(host, "recordReading", "SHP-3", "sensor-c", "2.0", "C",
                                                "2026-11-22T13:00:00Z", orderer=others[0])), 90,
                       "a commit with 2 of 3 orderers")
        assert out.rc == 0
    finally:
        assert host.run(f"docker start {leader}").rc == 0
    target = orderer_channel(host, others[0])["height"]
    wait_for(lambda: orderer_channel(host, leader)["height"] == target, 60, f"{leader} to catch up")
    history = json.loads(query(host, "manufacturer", "getShipmentHistory", "SHP-3").stdout)
    assert history and history[0]["value"] == 2.0


def _network():
    text = (PROJECT / "inventories/scenario1/group_vars/fabric/network.yml").read_text()
    return yaml.safe_load(text)["fabric_network"]


def _bad(mutate):
    network = _network()
    mutate(network)
    return network


BAD = {
    "two services on one port": (
        lambda n: n["peers"][1].update(port=9050), "port 9050 is wanted by orderer orderer2"),
    "MSP ID Fabric rejects": (
        lambda n: n["organizations"][1].update(msp_id="Manufacturer MSP"), "'Manufacturer MSP' is not an MSP ID"),
    "org name Fabric rejects": (
        lambda n: n["organizations"][2].update(name="MRO_Lab"), "'MRO_Lab' must be a lowercase DNS label"),
    "channel name with capitals": (
        lambda n: n["channels"][0].update(name="ThermoTrace"), "'ThermoTrace' is not a channel name"),
    "peer of an undefined organization": (
        lambda n: n["peers"].append({"name": "peer1", "org": "logistics", "host": HOST, "port": 11051}),
        "belongs to organization 'logistics', which fabric_network.organizations does not define"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_network_description_stops_before_any_change(run_playbook, case):
    mutate, message = BAD[case]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"fabric_network": _bad(mutate)}, fh)
    try:
        run = run_playbook(CONVERGE, "-e", f"@{fh.name}")
    finally:
        os.unlink(fh.name)
    assert run.rc != 0
    assert run.recap(HOST)["changed"] == 0
    assert run.says(message), run.output[-3000:]


# The seed's phase 1 -> 2: MRO Lab's peer leaves the shared server for MRO Lab's own server (keel-fabric2),
# where it listens on another port (its anchor-peer entry follows). Runs last: from here on the network has
# two servers.

NEW_HOST = "keel-fabric2"
MRO_PEER = "peer0.mrolab.thermotrace.example"
MOVED_PORT = 7151
MRO_DIR = f"{BASE}/mrolab.thermotrace.example"


def _address(name):
    out = testinfra.get_host("local://").run(
        "docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' %s" % name)
    assert out.rc == 0 and out.stdout.strip(), out.stderr
    return out.stdout.strip()


def _move(run_playbook, *args):
    """playbooks/fabric_move.yml with MRO Lab's peer given the new server, as its operator would edit the inventory."""
    network = _network()
    for node in network["orderers"] + network["peers"]:
        node["host"] = NEW_HOST if node["org"] == "mrolab" else HOST
        if node["org"] == "mrolab":
            node["port"] = MOVED_PORT
    variables = {"fabric_network": network, "thermotrace_channel": CHANNEL,
                 "fabric_host_addresses": {HOST: _address(HOST), NEW_HOST: _address(NEW_HOST)}}
    folder = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    (folder / "moved.json").write_text(json.dumps(variables))
    (folder / "two-servers.yml").write_text(yaml.safe_dump({"all": {"children": {"fabric": {"hosts": {
        HOST: None, NEW_HOST: None}}}}}))
    return run_playbook(
        PROJECT / "playbooks/fabric_move.yml", "-e", f"@{PROJECT}/.testbed/supply.yml",
        "-e", f"@{PROJECT}/molecule/fabric_scenario1/vars/test.yml", "-e", f"@{folder / 'moved.json'}", *args,
        inventory=[os.environ["MOLECULE_INVENTORY_FILE"], folder / "two-servers.yml"], timeout=1200)


def test_mro_labs_peer_moves_to_its_own_server_with_its_identity_and_ledger(host, run_playbook):
    new = testinfra.get_host(f"docker://{NEW_HOST}")
    certificate = host.file(f"{MRO_DIR}/peers/{MRO_PEER}/msp/signcerts/cert.pem").content_string
    tls = host.file(f"{MRO_DIR}/peers/{MRO_PEER}/tls/server.crt").content_string
    before = height(host, "mrolab")
    run = _move(run_playbook)
    assert run.rc == 0, run.failure()
    # The old server no longer runs it, keeps no ledger of it and holds none of MRO Lab's keys.
    assert MRO_PEER not in host.run("docker ps -a --format '{{.Names}}'").stdout.split()
    assert "thermotrace-peers_" + MRO_PEER not in host.run("docker volume ls -q").stdout.split()
    assert host.run(f"find {MRO_DIR} -name priv_sk -o -name '*.key'").stdout.split() == []
    # The new server runs it under the same certificates and serves the same ledger (re-synced from the channel).
    assert new.file(f"{MRO_DIR}/peers/{MRO_PEER}/msp/signcerts/cert.pem").content_string == certificate
    assert new.file(f"{MRO_DIR}/peers/{MRO_PEER}/tls/server.crt").content_string == tls
    assert MRO_PEER in new.run("docker ps --format '{{.Names}}'").stdout.split()
    PEERS["mrolab"] = ("MROLabMSP", f"{MRO_PEER}:{MOVED_PORT}")
    wait_for(lambda: height(new, "mrolab") >= before, 120, "the moved peer's ledger")
    # The channel names it as MRO Lab's anchor peer at its new port (an update signed by MRO Lab's admin).
    config = channel_config(NEW_HOST, _peer_env("mrolab"), "orderer1.orderer.thermotrace.example:8050", "orderer")
    anchors = config["channel_group"]["groups"]["Application"]["groups"]["MROLabMSP"]["values"]["AnchorPeers"]
    assert anchors["value"]["anchor_peers"] == [{"host": MRO_PEER, "port": MOVED_PORT}], anchors
    # Invoke (endorsed by both peers, one on each server) and query still work.
    out = wait_for(lambda: succeeded(invoke(host, "recordReading", "SHP-4", "sensor-d", "7.5", "C",
                                            "2026-11-22T14:00:00Z")), 90, "a commit with the moved peer")
    assert out.rc == 0, out.stderr
    target = height(host, "manufacturer")
    wait_for(lambda: height(new, "mrolab") >= target, 60, "the block on the moved peer")
    history = json.loads(query(new, "mrolab", "getShipmentHistory", "SHP-4").stdout)
    assert [r["value"] for r in history] == [7.5]


def test_a_second_move_run_changes_nothing(run_playbook):
    run = _move(run_playbook)
    assert run.rc == 0, run.failure()
    assert run.changed(HOST) == 0 and run.changed(NEW_HOST) == 0, run.output[-5000:]


def test_a_move_that_would_stop_every_orderer_at_once_is_refused(host, run_playbook):
    network = _network()
    for node in network["orderers"] + network["peers"]:
        node["host"] = NEW_HOST if node["org"] in ("mrolab", "orderers") else HOST
    before = host.run("docker ps -q | wc -l").stdout
    folder = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    (folder / "orderers-moved.json").write_text(json.dumps({"fabric_network": network}))
    run = _move(run_playbook, "-e", f"@{folder / 'orderers-moved.json'}")
    assert run.rc != 0
    assert run.changed(HOST) == 0 and run.changed(NEW_HOST) == 0
    assert run.says("moving orderers stops 3 of the 3 orderers of channel thermotrace at once"), (
        run.output[-3000:])
    assert host.run("docker ps -q | wc -l").stdout == before
