"""What the ThermoTrace (Hyperledger Fabric) verifiers share: the Fabric tools container of a test host,
the organizations' folders on it, and the channel's height at a peer or an orderer.

A scenario's tests name hosts by their containers and organizations by their short names (`mrolab`
for mrolab.thermotrace.example):

    from thermotrace_verify import peer_env, peer_height
    peer_height("keel-f3-mrolab", peer_env("mrolab", "MROLabMSP", "peer0.mrolab.thermotrace.example:7051"))
"""

import contextlib
import json
import re
import shlex

import testinfra

CHANNEL = "thermotrace"
TOOLS = "thermotrace-tools"
BASE = "/var/lib/keel/fabric"


def server(container):
    return testinfra.get_host(f"docker://{container}")


def tools(container, args, env=None):
    """A command of the Fabric tools container on one test host, with env in its environment."""
    flags = " ".join(f"-e {shlex.quote(k + '=' + v)}" for k, v in (env or {}).items())
    return server(container).run(f"docker exec {flags} {TOOLS} {' '.join(shlex.quote(a) for a in args)}")


def org_dir(org):
    return f"{BASE}/{org}.thermotrace.example"


def tls_ca(org):
    return f"{org_dir(org)}/tlsca/tlsca.crt"


def admin(org):
    return f"{org_dir(org)}/admins/admin.{org}.thermotrace.example"


def peer_env(org, msp_id, address):
    """The peer CLI's environment for org's admin talking to the peer at address."""
    return {"CORE_PEER_LOCALMSPID": msp_id, "CORE_PEER_MSPCONFIGPATH": f"{admin(org)}/msp",
            "CORE_PEER_ADDRESS": address, "CORE_PEER_TLS_ENABLED": "true", "CORE_PEER_TLS_ROOTCERT_FILE": tls_ca(org)}


def peer_height(container, env):
    """The channel's height at the peer env points to, asked on container's host."""
    out = tools(container, ["peer", "channel", "getinfo", "-c", CHANNEL], env)
    assert out.rc == 0, out.stderr
    return json.loads(re.search(r"Blockchain info:\s*(\{.*\})", out.stdout).group(1))["height"]


def orderer_channel(container, admin_address, ca_org, client_pair):
    """The channel at one orderer (osnadmin's JSON), asked on container's host with a TLS client pair
    (certificate, key); None while the orderer does not answer or does not serve the channel."""
    cert, key = client_pair
    out = tools(container, ["osnadmin", "channel", "list", "--channelID", CHANNEL, "-o", admin_address,
                            "--ca-file", tls_ca(ca_org), "--client-cert", cert, "--client-key", key])
    if "Status: 200" not in out.stdout:
        return None
    return json.loads(out.stdout.split("\n", 1)[1])


@contextlib.contextmanager
def server_down(container):
    """Everything on one server stopped (its engine, so its Fabric nodes and tools) for the with-block,
    started again after it. The test host itself keeps running and its address: a stopped test-bed
    container can lose its address to another scenario's host, which a real server does not."""
    host = server(container)
    assert host.run("systemctl stop docker.socket docker.service").rc == 0
    try:
        assert host.run("docker ps -q 2>/dev/null | wc -l").stdout.strip() in ("", "0")
        yield host
    finally:
        assert host.run("systemctl start docker.service").rc == 0


def channel_config(container, env, orderer_address, ca_org):
    """The channel's configuration (configtxlator's JSON of its latest config block), fetched on container's host
    from the orderer at orderer_address as env's identity."""
    block = f"{BASE}/channels/{CHANNEL}/verify-config.block"  # inside the tools container, which sees BASE
    out = tools(container, ["peer", "channel", "fetch", "config", block, "-c", CHANNEL, "-o", orderer_address,
                            "--tls", "--cafile", tls_ca(ca_org)], env)
    assert out.rc == 0, out.stderr
    out = tools(container, ["configtxlator", "proto_decode", "--input", block, "--type", "common.Block"])
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)["data"]["data"][0]["payload"]["data"]["config"]
