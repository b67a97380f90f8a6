"""ThermoTrace scenario 3, option C: the organizations host the orderers; one server goes down and comes back."""

import json
import re
import shlex

import testinfra
from keel_verify import wait_for

CHANNEL = "thermotrace"
TOOLS = "thermotrace-tools"
BASE = "/var/lib/keel/fabric"
SERVERS = {"manufacturer": "keel-f3-manufacturer", "mrolab": "keel-f3-mrolab", "thirdparty": "keel-f3-thirdparty"}
ORDERERS = {"orderer1.manufacturer.thermotrace.example": ("manufacturer", 8050),
            "orderer2.mrolab.thermotrace.example": ("mrolab", 9050),
            "orderer3.thirdparty.thermotrace.example": ("thirdparty", 10050)}
PEERS = {"manufacturer": ("ManufacturerMSP", "peer0.manufacturer.thermotrace.example:9051"),
         "mrolab": ("MROLabMSP", "peer0.mrolab.thermotrace.example:7051")}

testinfra_hosts = []


def server(org):
    return testinfra.get_host(f"docker://{SERVERS[org]}")


def tools(org, args, env=None):
    flags = " ".join(f"-e {shlex.quote(k + '=' + v)}" for k, v in (env or {}).items())
    return server(org).run(f"docker exec {flags} {TOOLS} {' '.join(shlex.quote(a) for a in args)}")


def tls_ca(org):
    return f"{BASE}/{org}.thermotrace.example/tlsca/tlsca.crt"


def admin(org):
    return f"{BASE}/{org}.thermotrace.example/admins/admin.{org}.thermotrace.example"


def peer_env(org):
    msp_id, address = PEERS[org]
    return {"CORE_PEER_LOCALMSPID": msp_id, "CORE_PEER_MSPCONFIGPATH": f"{admin(org)}/msp",
            "CORE_PEER_ADDRESS": address, "CORE_PEER_TLS_ENABLED": "true", "CORE_PEER_TLS_ROOTCERT_FILE": tls_ca(org)}


def orderer_height(fqdn):
    """The channel's height at one orderer, asked on its own server as its organization's admin."""
    org, port = ORDERERS[fqdn]
    out = tools(org, ["osnadmin", "channel", "list", "--channelID", CHANNEL, "-o", f"{fqdn}:{port + 3}",
                      "--ca-file", tls_ca(org), "--client-cert", f"{admin(org)}/tls/client.crt",
                      "--client-key", f"{admin(org)}/tls/client.key"])
    if "Status: 200" not in out.stdout:
        return None
    return json.loads(out.stdout.split("\n", 1)[1])


def peer_height(org):
    out = tools(org, ["peer", "channel", "getinfo", "-c", CHANNEL], peer_env(org))
    assert out.rc == 0, out.stderr
    return json.loads(re.search(r"Blockchain info:\s*(\{.*\})", out.stdout).group(1))["height"]


def invoke(shipment, value, orderer="orderer1.manufacturer.thermotrace.example"):
    cmd = ["peer", "chaincode", "invoke", "-o", f"{orderer}:{ORDERERS[orderer][1]}", "--tls", "--cafile",
           tls_ca(ORDERERS[orderer][0]), "-C", CHANNEL, "-n", "thermotrace", "--waitForEvent"]
    for org, (_msp, address) in PEERS.items():
        cmd += ["--peerAddresses", address, "--tlsRootCertFiles", tls_ca(org)]
    cmd += ["-c", json.dumps({"function": "recordReading",
                              "Args": [shipment, "sensor-x", value, "C", "2026-11-22T15:00:00Z"]})]
    out = tools("manufacturer", cmd, peer_env("manufacturer"))
    return out if out.rc == 0 else None


def test_each_organizations_orderer_is_a_consenter_of_the_channel():
    for fqdn in ORDERERS:
        info = orderer_height(fqdn)
        assert info and info["status"] == "active" and info["consensusRelation"] == "consenter", (fqdn, info)


def test_with_the_third_partys_server_down_readings_commit_and_it_catches_up_when_back():
    # Everything on the third party's server goes down: its engine stops, and with it its orderer and tools.
    # (The server itself keeps running and its address: a stopped test-bed container can lose its address
    # to another scenario's host before it starts again, which a real server does not.)
    third = server("thirdparty")
    assert third.run("systemctl stop docker.socket docker.service").rc == 0
    try:
        assert third.run("docker ps -q 2>/dev/null | wc -l").stdout.strip() in ("", "0")
        out = wait_for(lambda: invoke("SHP-31", "2.5"), 120, "a commit with the third party's server down")
        assert "status:200" in out.stderr
        assert wait_for(lambda: invoke("SHP-32", "2.7", orderer="orderer2.mrolab.thermotrace.example"), 60,
                        "a commit through MRO Lab's orderer")
    finally:
        assert third.run("systemctl start docker.service").rc == 0
    target = orderer_height("orderer1.manufacturer.thermotrace.example")["height"]
    wait_for(lambda: (orderer_height("orderer3.thirdparty.thermotrace.example") or {}).get("height", 0) >= target,
             240, "the third party's orderer to catch up")
    wait_for(lambda: peer_height("mrolab") >= target, 60, "MRO Lab's peer")
    out = tools("mrolab", ["peer", "chaincode", "query", "-C", CHANNEL, "-n", "thermotrace", "-c",
                           json.dumps({"function": "getShipmentHistory", "Args": ["SHP-32"]})], peer_env("mrolab"))
    assert [r["value"] for r in json.loads(out.stdout)] == [2.7]
