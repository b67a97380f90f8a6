"""ThermoTrace scenario 3, option C: the organizations host the orderers; one server goes down and comes back."""

import json

import thermotrace_verify as fabric
from keel_verify import wait_for
from thermotrace_verify import CHANNEL, admin, tls_ca

SERVERS = {"manufacturer": "keel-f3-manufacturer", "mrolab": "keel-f3-mrolab", "thirdparty": "keel-f3-thirdparty"}
ORDERERS = {"orderer1.manufacturer.thermotrace.example": ("manufacturer", 8050),
            "orderer2.mrolab.thermotrace.example": ("mrolab", 9050),
            "orderer3.thirdparty.thermotrace.example": ("thirdparty", 10050)}
PEERS = {"manufacturer": ("ManufacturerMSP", "peer0.manufacturer.thermotrace.example:9051"),
         "mrolab": ("MROLabMSP", "peer0.mrolab.thermotrace.example:7051")}

testinfra_hosts = []


def server(org):
    return fabric.server(SERVERS[org])


def tools(org, args, env=None):
    return fabric.tools(SERVERS[org], args, env)


def peer_env(org):
    return fabric.peer_env(org, *PEERS[org])


def orderer_height(fqdn):
    """The channel's height at one orderer, asked on its own server as its organization's admin."""
    org, port = ORDERERS[fqdn]
    return fabric.orderer_channel(SERVERS[org], f"{fqdn}:{port + 3}", org,
                                  (f"{admin(org)}/tls/client.crt", f"{admin(org)}/tls/client.key"))


def peer_height(org):
    return fabric.peer_height(SERVERS[org], peer_env(org))


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
    with fabric.server_down(SERVERS["thirdparty"]):
        out = wait_for(lambda: invoke("SHP-31", "2.5"), 120, "a commit with the third party's server down")
        assert "status:200" in out.stderr
        assert wait_for(lambda: invoke("SHP-32", "2.7", orderer="orderer2.mrolab.thermotrace.example"), 60,
                        "a commit through MRO Lab's orderer")
    target = orderer_height("orderer1.manufacturer.thermotrace.example")["height"]
    wait_for(lambda: (orderer_height("orderer3.thirdparty.thermotrace.example") or {}).get("height", 0) >= target,
             240, "the third party's orderer to catch up")
    wait_for(lambda: peer_height("mrolab") >= target, 60, "MRO Lab's peer")
    out = tools("mrolab", ["peer", "chaincode", "query", "-C", CHANNEL, "-n", "thermotrace", "-c",
                           json.dumps({"function": "getShipmentHistory", "Args": ["SHP-32"]})], peer_env("mrolab"))
    assert [r["value"] for r in json.loads(out.stdout)] == [2.7]
