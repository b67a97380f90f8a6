"""ThermoTrace scenario 3, option B: one orderer organization, one orderer per server; one server goes down."""

import json
import os
import shlex
from pathlib import Path

import thermotrace_verify as fabric
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

testinfra_hosts = []


def node(orderer):
    return f"{ORDERER_ORG}/orderers/{orderer}.orderer.thermotrace.example"


def peer_env(org):
    _server, msp_id, address = PEERS[org]
    return fabric.peer_env(org, msp_id, address)


def orderer_height(orderer):
    """The channel at one orderer, asked on its own server with the orderer's own TLS pair (no admin there)."""
    name, port = ORDERERS[orderer]
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


def test_each_orderer_is_a_consenter_of_the_channel():
    for orderer in ORDERERS:
        info = orderer_height(orderer)
        assert info and info["status"] == "active" and info["consensusRelation"] == "consenter", (orderer, info)


def test_a_reading_commits_and_is_read_through_the_other_organization():
    out = invoke("SHP-3B1", "4.1")
    assert out and "status:200" in out.stderr
    target = peer_height("manufacturer")
    wait_for(lambda: peer_height("mrolab") >= target, 60, "MRO Lab's peer")
    out = tools(PEERS["mrolab"][0], ["peer", "chaincode", "query", "-C", CHANNEL, "-n", "thermotrace", "-c",
                                     json.dumps({"function": "getShipmentHistory", "Args": ["SHP-3B1"]})],
                peer_env("mrolab"))
    assert [r["value"] for r in json.loads(out.stdout)] == [4.1]


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
