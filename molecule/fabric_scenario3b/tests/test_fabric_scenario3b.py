"""ThermoTrace scenario 3, option B: one orderer organization, one orderer per server; one server goes down;
then orderer3 moves to a fourth server (a consenter change)."""

import base64
import json
import os
import shlex
from pathlib import Path

import thermotrace_verify as fabric
import yaml
from keel_verify import wait_for
from thermotrace_verify import BASE, CHANNEL, server, tls_ca, tools

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
ORDERER_ORG = f"{BASE}/orderer.thermotrace.example"
# Orderer -> (its server, its port); the orderer organization's CA and admin are on orderer1's server.
ORDERERS = {"orderer1": ("keel-f3b-orderer1", 8050), "orderer2": ("keel-f3b-orderer2", 9050),
            "orderer3": ("keel-f3b-orderer3", 10050)}
PEERS = {"manufacturer": ("keel-f3b-orderer1", "ManufacturerMSP", "peer0.manufacturer.thermotrace.example:9051"),
         "mrolab": ("keel-f3b-orderer2", "MROLabMSP", "peer0.mrolab.thermotrace.example:7051")}

# Run on a server (fabric_host installed python3-cryptography there): certificate, key, CA certificate.
FOR_KEY_FROM_CA = """
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
cert, key, ca = (open(path, "rb").read() for path in sys.argv[1:4])
cert, ca = x509.load_pem_x509_certificate(cert), x509.load_pem_x509_certificate(ca)
key = serialization.load_pem_private_key(key, None)
ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
print("ok" if cert.public_key().public_numbers() == key.public_key().public_numbers() else "another key")
"""

ORDERERS_SERVERS = ["keel-f3b-orderer1", "keel-f3b-orderer2", "keel-f3b-orderer3", "keel-f3b-orderer4"]

testinfra_hosts = []


def node(orderer):
    return f"{ORDERER_ORG}/orderers/{orderer}.orderer.thermotrace.example"


def peer_env(org):
    _server, msp_id, address = PEERS[org]
    return fabric.peer_env(org, msp_id, address)


def orderer_height(orderer, on=None):
    """The channel at one orderer, asked on its own server (or on) with the orderer's own TLS pair (no admin there)."""
    name, port = ORDERERS[orderer]
    name = on or name
    return fabric.orderer_channel(name, f"{orderer}.orderer.thermotrace.example:{port + 3}", "orderer",
                                  (f"{node(orderer)}/tls/server.crt", f"{node(orderer)}/tls/server.key"))


def peer_height(org):
    return fabric.peer_height(PEERS[org][0], peer_env(org))


def invoke(shipment, value, orderer="orderer1"):
    cmd = ["peer", "chaincode", "invoke", "-o", f"{orderer}.orderer.thermotrace.example:{ORDERERS[orderer][1]}",
           "--tls", "--cafile", tls_ca("orderer"), "-C", CHANNEL, "-n", "thermotrace", "--waitForEvent"]
    for org, (_server, _msp, address) in PEERS.items():
        cmd += ["--peerAddresses", address, "--tlsRootCertFiles", tls_ca(org)]
    cmd += ["-c", json.dumps({"function": "recordReading",
                              "Args": [shipment, "sensor-b", value, "C", "2026-11-22T16:00:00Z"]})]
    out = tools(PEERS["manufacturer"][0], cmd, peer_env("manufacturer"))
    return out if out.rc == 0 else None


def private_keys(name):
    found = server(name).run(f"find {ORDERER_ORG} -type f \\( -name priv_sk -o -name '*.key' \\)").stdout.split()
    return sorted(path[len(ORDERER_ORG) + 1:] for path in found)


def test_each_orderers_private_keys_are_on_its_own_server_only():
    own = {orderer: sorted(f"orderers/{orderer}.orderer.thermotrace.example/{rel}"
                           for rel in ("msp/keystore/priv_sk", "tls/server.key")) for orderer in ORDERERS}
    admin = sorted(f"admins/admin.orderer.thermotrace.example/{rel}"
                   for rel in ("msp/keystore/priv_sk", "tls/client.key"))
    assert private_keys("keel-f3b-orderer1") == sorted(["ca/ca.key", "tlsca/tlsca.key"] + admin + own["orderer1"])
    assert private_keys("keel-f3b-orderer2") == own["orderer2"]
    assert private_keys("keel-f3b-orderer3") == own["orderer3"]


def test_each_orderers_certificates_were_issued_by_the_organizations_ca_for_its_own_key():
    for orderer, (name, _port) in ORDERERS.items():
        host = server(name)
        for files in (("tls/server.crt", "tls/server.key", "tls/ca.crt"),
                      ("msp/signcerts/cert.pem", "msp/keystore/priv_sk", "msp/cacerts/ca.crt")):
            paths = " ".join(f"{node(orderer)}/{rel}" for rel in files)
            out = host.run(f"python3 -c {shlex.quote(FOR_KEY_FROM_CA)} {paths}")
            assert out.rc == 0 and out.stdout.strip() == "ok", (orderer, files, out.stderr)
        # orderer1's server (the channel's maker) names each consenter by the same TLS certificate.
        here = host.file(f"{node(orderer)}/tls/server.crt").content_string
        assert server("keel-f3b-orderer1").file(f"{node(orderer)}/tls/server.crt").content_string == here


def readings_at_mrolab(shipment):
    """The shipment's readings as MRO Lab's peer has them, once it has every block Manufacturer's peer has."""
    target = peer_height("manufacturer")
    wait_for(lambda: peer_height("mrolab") >= target, 60, "MRO Lab's peer")
    out = tools(PEERS["mrolab"][0], ["peer", "chaincode", "query", "-C", CHANNEL, "-n", "thermotrace", "-c",
                                     json.dumps({"function": "getShipmentHistory", "Args": [shipment]})],
                peer_env("mrolab"))
    return [r["value"] for r in json.loads(out.stdout)]


def test_each_orderer_is_a_consenter_of_the_channel():
    for orderer in ORDERERS:
        info = orderer_height(orderer)
        assert info and info["status"] == "active" and info["consensusRelation"] == "consenter", (orderer, info)


def test_a_reading_commits_and_is_read_through_the_other_organization():
    out = invoke("SHP-3B1", "4.1")
    assert out and "status:200" in out.stderr
    assert readings_at_mrolab("SHP-3B1") == [4.1]


def test_with_orderer3s_server_down_readings_commit_and_it_catches_up_when_back():
    with fabric.server_down("keel-f3b-orderer3"):
        out = wait_for(lambda: invoke("SHP-3B2", "4.2"), 120, "a commit with orderer3's server down")
        assert "status:200" in out.stderr
        assert wait_for(lambda: invoke("SHP-3B3", "4.3", orderer="orderer2"), 60, "a commit through orderer2")
    target = orderer_height("orderer1")["height"]
    wait_for(lambda: (orderer_height("orderer3") or {}).get("height", 0) >= target, 240, "orderer3 to catch up")
    # Back in the cluster: a transaction ordered through orderer3 commits.
    assert wait_for(lambda: invoke("SHP-3B4", "4.4", orderer="orderer3"), 120, "a commit through orderer3")


def test_check_mode_on_the_converged_layout_changes_nothing(run_playbook):
    run = run_playbook(PROJECT / "playbooks/scenario3.yml", "--check", "-e", f"@{PROJECT}/.testbed/supply.yml",
                       "-e", f"@{PROJECT}/molecule/fabric_scenario2/vars/test.yml",
                       inventory=[PROJECT / "inventories/scenario3b", EPHEMERAL / "inventory-scenario3b.yml"],
                       cwd=PROJECT)
    assert run.rc == 0, run.failure()
    assert {host: recap["changed"] for host, recap in run.recaps().items()} == {
        f"orderer{n}.thermotrace.example": 0 for n in (1, 2, 3)}, run.output[-5000:]


# Last: orderer3 moves to a fourth server (keel-f3b-orderer4, in the inventory and idle until now) with new keys
# made there: playbooks/fabric_move_orderer.yml replaces its consenter on the channel, one orderer at a time.

NEW_SERVER = "keel-f3b-orderer4"
ORDERER3 = "orderer3.orderer.thermotrace.example"
SERVERS = [f"orderer{n}.thermotrace.example" for n in (1, 2, 3, 4)]
ORDERER_ADMIN = {"CORE_PEER_LOCALMSPID": "OrdererMSP",
                 "CORE_PEER_MSPCONFIGPATH": f"{ORDERER_ORG}/admins/admin.orderer.thermotrace.example/msp"}


def _move(run_playbook, *args):
    """playbooks/fabric_move_orderer.yml with orderer3 given the fourth server, as its operator would edit the
    inventory (the server in group fabric, thermotrace_server3 pointing at it)."""
    (EPHEMERAL / "four-servers.yml").write_text(yaml.safe_dump({"all": {"children": {"fabric": {"hosts": {
        name: None for name in SERVERS}}}}}))
    return run_playbook(
        PROJECT / "playbooks/fabric_move_orderer.yml", "-e", f"@{PROJECT}/.testbed/supply.yml",
        "-e", f"@{PROJECT}/molecule/fabric_scenario2/vars/test.yml", "-e", "thermotrace_server3=" + SERVERS[3], *args,
        inventory=[PROJECT / "inventories/scenario3b", EPHEMERAL / "inventory-scenario3b.yml",
                   EPHEMERAL / "four-servers.yml"], cwd=PROJECT, timeout=1200)


def test_orderer3_moves_to_a_fourth_server_by_a_consenter_change(run_playbook):
    old, new = server("keel-f3b-orderer3"), server(NEW_SERVER)
    old_cert = old.file(f"{node('orderer3')}/tls/server.crt").content_string
    run = _move(run_playbook)
    assert run.rc == 0, run.failure()
    # The new server made orderer3's keys; the organization's CA issued its certificates for them.
    assert private_keys(NEW_SERVER) == sorted(f"orderers/{ORDERER3}/{rel}"
                                              for rel in ("msp/keystore/priv_sk", "tls/server.key"))
    for files in (("tls/server.crt", "tls/server.key", "tls/ca.crt"),
                  ("msp/signcerts/cert.pem", "msp/keystore/priv_sk", "msp/cacerts/ca.crt")):
        paths = " ".join(f"{node('orderer3')}/{rel}" for rel in files)
        out = new.run(f"python3 -c {shlex.quote(FOR_KEY_FROM_CA)} {paths}")
        assert out.rc == 0 and out.stdout.strip() == "ok", (files, out.stderr)
    new_cert = new.file(f"{node('orderer3')}/tls/server.crt").content_string
    assert new_cert != old_cert
    # The channel names the new certificate for orderer3, which the other servers reach on the new server.
    config = fabric.channel_config("keel-f3b-orderer1", ORDERER_ADMIN, "orderer1.orderer.thermotrace.example:8050",
                                   "orderer")
    consenters = config["channel_group"]["groups"]["Orderer"]["values"]["ConsensusType"]["value"]["metadata"][
        "consenters"]
    mine = [c for c in consenters if c["host"] == ORDERER3]
    assert len(consenters) == 3 and len(mine) == 1 and mine[0]["port"] == 10050, consenters
    assert base64.b64decode(mine[0]["server_tls_cert"]).decode() == new_cert
    assert base64.b64decode(mine[0]["client_tls_cert"]).decode() == new_cert
    address = server("keel-f3b-orderer1").run(f"docker exec thermotrace-tools getent hosts {ORDERER3}").stdout.split()
    new_address = new.run("hostname -I").stdout.split()
    assert address and address[0] in new_address, (address, new_address)
    # The old server runs no orderer3, keeps no ledger and no key of it.
    assert ORDERER3 not in old.run("docker ps -a --format '{{.Names}}'").stdout.split()
    assert "thermotrace-orderers_" + ORDERER3 not in old.run("docker volume ls -q").stdout.split()
    assert private_keys("keel-f3b-orderer3") == []
    # A reading commits and is read; orderer3 on its new server has every block and orders a transaction itself.
    out = wait_for(lambda: invoke("SHP-3B5", "4.5"), 120, "a commit after the move")
    assert "status:200" in out.stderr
    target = orderer_height("orderer1")["height"]
    wait_for(lambda: (orderer_height("orderer3", NEW_SERVER) or {}).get("height", 0) >= target, 120,
             "orderer3 on its new server to catch up")
    info = orderer_height("orderer3", NEW_SERVER)
    assert info["status"] == "active" and info["consensusRelation"] == "consenter", info
    assert wait_for(lambda: invoke("SHP-3B6", "4.6", orderer="orderer3"), 120, "a commit through the moved orderer3")
    assert readings_at_mrolab("SHP-3B6") == [4.6]


def test_a_second_move_run_changes_nothing(run_playbook):
    run = _move(run_playbook)
    assert run.rc == 0, run.failure()
    assert {host: recap["changed"] for host, recap in run.recaps().items()} == {name: 0 for name in SERVERS}, (
        run.output[-5000:])


def test_moving_two_orderers_in_one_run_is_refused_before_any_change(run_playbook):
    network = yaml.safe_load((PROJECT / "inventories/scenario3b/group_vars/fabric/network.yml").read_text())[
        "fabric_network"]
    network["orderers"][1]["host"] = SERVERS[3]
    network["orderers"][2]["host"] = SERVERS[0]
    (EPHEMERAL / "two-orderers-moved.json").write_text(json.dumps({"fabric_network": network}))
    before = {name: server(name).run("docker ps -q | sort").stdout for name in ORDERERS_SERVERS}
    run = _move(run_playbook, "-e", f"@{EPHEMERAL / 'two-orderers-moved.json'}")
    assert run.rc != 0
    assert run.says("2 orderers move in this run"), run.output[-3000:]
    assert all(recap["changed"] == 0 for recap in run.recaps().values()), run.output[-3000:]
    assert {name: server(name).run("docker ps -q | sort").stdout for name in ORDERERS_SERVERS} == before
