"""ThermoTrace scenario 2: three servers, each converged by its own organization's inventory and controller."""

import json
import os
import tempfile
from pathlib import Path

import pytest
import thermotrace_verify as fabric
import yaml
from keel_verify import wait_for
from thermotrace_verify import BASE, CHANNEL

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
SCENARIO = Path(__file__).resolve().parents[1]
EXCHANGE = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "exchange"
ORGS = yaml.safe_load((SCENARIO / "vars/orgs.yml").read_text())["f2_orgs"]
DOMAINS = {"orderers": "orderer.thermotrace.example", "manufacturer": "manufacturer.thermotrace.example",
           "mrolab": "mrolab.thermotrace.example", "carrier": "carrier.thermotrace.example"}
MSP_IDS = {"manufacturer": "ManufacturerMSP", "mrolab": "MROLabMSP", "carrier": "CarrierMSP"}
PEERS = {"manufacturer": "peer0.manufacturer.thermotrace.example:9051",
         "mrolab": "peer0.mrolab.thermotrace.example:7051"}
ORDERERS = {"orderer1.orderer.thermotrace.example": 8050, "orderer2.orderer.thermotrace.example": 9050,
            "orderer3.orderer.thermotrace.example": 10050}
ORDERER_CA = f"{BASE}/{DOMAINS['orderers']}/tlsca/tlsca.crt"

testinfra_hosts = []


def server(org):
    return fabric.server(f"keel-f2-{org}")


def tools(org, args, env=None):
    return fabric.tools(f"keel-f2-{org}", args, env)


def admin_env(org):
    return fabric.peer_env(org, MSP_IDS[org], PEERS_WITH_CARRIER[org])


def height(org):
    return fabric.peer_height(f"keel-f2-{org}", admin_env(org))


def invoke(org, function, *args):
    """A transaction submitted by org's admin on org's server, endorsed by both organizations' peers."""
    cmd = ["peer", "chaincode", "invoke", "-o", "orderer1.orderer.thermotrace.example:8050", "--tls", "--cafile",
           ORDERER_CA, "-C", CHANNEL, "-n", "thermotrace", "--waitForEvent"]
    for peer_org, address in PEERS.items():
        cmd += ["--peerAddresses", address, "--tlsRootCertFiles", f"{BASE}/{DOMAINS[peer_org]}/tlsca/tlsca.crt"]
    cmd += ["-c", json.dumps({"function": function, "Args": list(args)})]
    return tools(org, cmd, admin_env(org))


def query(org, function, *args):
    return tools(org, ["peer", "chaincode", "query", "-C", CHANNEL, "-n", "thermotrace", "-c",
                       json.dumps({"function": function, "Args": list(args)})], admin_env(org))


PEERS_WITH_CARRIER = dict(PEERS, carrier="peer0.carrier.thermotrace.example:11051")


def org_run(run_playbook, org, playbook, *args):
    """org's run of a playbook, as converge.yml (tasks/org_run.yml) makes it."""
    return run_playbook(
        PROJECT / "playbooks" / playbook, "-e", f"@{PROJECT}/.testbed/supply.yml", "-e", f"@{SCENARIO}/vars/test.yml",
        *args, inventory=[PROJECT / "inventories/scenario2" / org, EXCHANGE.parent / f"inventory-{org}.yml"],
        cwd=PROJECT)


def test_every_orderer_serves_the_channel_made_by_the_operator():
    admin = f"{BASE}/{DOMAINS['orderers']}/admins/admin.{DOMAINS['orderers']}/tls"
    for fqdn, port in ORDERERS.items():
        out = tools("orderers", ["osnadmin", "channel", "list", "--channelID", CHANNEL, "-o", f"{fqdn}:{port + 3}",
                                 "--ca-file", ORDERER_CA, "--client-cert", f"{admin}/client.crt",
                                 "--client-key", f"{admin}/client.key"])
        info = json.loads(out.stdout.split("\n", 1)[1])
        assert info["status"] == "active" and info["consensusRelation"] == "consenter", info


@pytest.mark.parametrize("writer, reader, shipment", [
    ("manufacturer", "mrolab", "SHP-21"), ("mrolab", "manufacturer", "SHP-22")])
def test_a_reading_submitted_through_one_organization_is_read_through_the_other(writer, reader, shipment):
    out = invoke(writer, "recordReading", shipment, "sensor-" + writer, "3.5", "C", "2026-11-22T10:00:00Z")
    assert out.rc == 0 and "status:200" in out.stderr, out.stderr
    target = height(writer)
    wait_for(lambda: height(reader) >= target, 60, f"the block on {reader}'s server")
    history = json.loads(query(reader, "getShipmentHistory", shipment).stdout)
    assert [(r["sensorId"], r["value"]) for r in history] == [("sensor-" + writer, 3.5)]


@pytest.mark.parametrize("org", [o["name"] for o in ORGS])
def test_no_server_holds_another_organizations_private_key(org):
    found = server(org).run(f"find {BASE} -type f \\( -name priv_sk -o -name '*.key' \\)").stdout.split()
    assert found, "no private key at all: the layout moved?"
    foreign = [path for path in found if not path.startswith(f"{BASE}/{DOMAINS[org]}/")]
    assert foreign == []
    # The partners' folders hold certificates only.
    for partner in (o for o in DOMAINS if o not in (org, "carrier")):
        partner_dir = f"{BASE}/{DOMAINS[partner]}"
        assert server(org).file(f"{partner_dir}/msp/cacerts/ca.crt").exists
        assert not server(org).file(f"{partner_dir}/ca/ca.key").exists


@pytest.mark.parametrize("org", [o["name"] for o in ORGS])
def test_the_exported_definition_carries_no_key(org):
    text = (EXCHANGE / org / "export" / f"{org}.yml").read_text()
    assert "PRIVATE KEY" not in text
    definition = yaml.safe_load(text)
    assert definition["format"] == "keel.infra/fabric-organization/1"
    assert definition["domain"] == DOMAINS[org]


@pytest.mark.parametrize("org", [o["name"] for o in ORGS])
def test_check_mode_on_the_converged_layout_changes_nothing(run_playbook, org):
    run = org_run(run_playbook, org, "scenario2.yml", "--check")
    assert run.rc == 0, run.failure()
    host = next(o["host"] for o in ORGS if o["name"] == org)
    assert run.recap(host)["changed"] == 0, run.output[-5000:]


def _network(org):
    return yaml.safe_load((PROJECT / "inventories/scenario2" / org / "group_vars/fabric/network.yml").read_text())


def test_a_partner_never_imported_stops_the_run_before_any_change(run_playbook):
    with tempfile.TemporaryDirectory() as empty:
        run = org_run(run_playbook, "manufacturer", "scenario2.yml", "-e", f"fabric_partner_dir={empty}")
    assert run.rc != 0
    assert run.changed("fabric.manufacturer.thermotrace.example") == 0
    assert run.says(f"fabric_network.partners names 'orderers', whose public definition was never imported: put the "
                    f"file orderers exported (orderers.yml) in {empty}"), run.output[-3000:]


def test_one_host_port_claimed_twice_stops_the_run_before_any_change(run_playbook):
    variables = _network("mrolab")
    variables["thermotrace_channel"] = CHANNEL
    variables["fabric_network"]["peers"].append(
        {"name": "peer1", "org": "mrolab", "host": "fabric.mrolab.thermotrace.example", "port": 7051})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(variables, handle)
    try:
        run = org_run(run_playbook, "mrolab", "scenario2.yml", "-e", f"@{handle.name}")
    finally:
        os.unlink(handle.name)
    assert run.rc != 0
    assert run.changed("fabric.mrolab.thermotrace.example") == 0
    assert run.says("port 7051 is wanted by peer peer0.mrolab.thermotrace.example (port) and by peer "), (
        run.output[-3000:])


# A third organization joins the running channel: Carrier, with its own server and inventory.
# Runs last: Manufacturer's and MRO Lab's descriptions list Carrier from here on.

CARRIER = yaml.safe_load((SCENARIO / "vars/orgs.yml").read_text())["f2_joining"]


def _share(source, target, name):
    (EXCHANGE / target / "partners" / name).write_bytes((EXCHANGE / source / "export" / name).read_bytes())


def _with_carrier(org):
    """org's description once it lists Carrier: a partner, and a member of the channel."""
    variables = _network(org)
    variables["thermotrace_channel"] = CHANNEL
    network = variables["fabric_network"]
    network["partners"].append("carrier")
    network["channels"][0]["organizations"].append("carrier")
    path = EXCHANGE.parent / f"with-carrier-{org}.json"
    path.write_text(json.dumps(variables))
    return f"@{path}"


def members_run(run_playbook, org):
    return org_run(run_playbook, org, "fabric_channel_members.yml", "-e", _with_carrier(org))


def test_a_third_organization_joins_the_running_channel_and_its_peer_endorses(run_playbook):
    # 1. Carrier makes its keys and exports its definition; the files cross.
    run = org_run(run_playbook, "carrier", "fabric_export.yml")
    assert run.rc == 0, run.failure()
    for member in ("manufacturer", "mrolab"):
        _share("carrier", member, "carrier.yml")
    for partner in CARRIER["partners"]:
        _share(partner, "carrier", f"{partner}.yml")
    # 2. Manufacturer signs the update on its controller; one of two members is not a majority.
    before = height("manufacturer")
    run = members_run(run_playbook, "manufacturer")
    assert run.rc == 0, run.failure()
    assert run.says("adding CarrierMSP needs 2 of MROLabMSP, ManufacturerMSP; signed by ManufacturerMSP"), (
        run.output[-3000:])
    assert height("manufacturer") == before
    # 3. MRO Lab gets Manufacturer's signed file, checks it against its own description, signs and submits.
    _share("manufacturer", "mrolab", "thermotrace-update.pb")
    run = members_run(run_playbook, "mrolab")
    assert run.rc == 0, run.failure()
    assert run.says("CarrierMSP added, signed by ManufacturerMSP, MROLabMSP"), run.output[-3000:]
    # 4. Carrier converges its part: its peer joins, its admin names its anchor peer (the update that added
    #    Carrier carries none), its organization approves the committed chaincode.
    run = org_run(run_playbook, "carrier", "scenario2.yml")
    assert run.rc == 0, run.failure()
    wait_for(lambda: height("carrier") >= height("manufacturer"), 60, "Carrier's peer to catch up")
    config = fabric.channel_config("keel-f2-carrier", admin_env("carrier"), "orderer1.orderer.thermotrace.example:8050",
                                   "orderer")
    anchors = config["channel_group"]["groups"]["Application"]["groups"]["CarrierMSP"]["values"]["AnchorPeers"]
    assert anchors["value"]["anchor_peers"] == [{"host": "peer0.carrier.thermotrace.example", "port": 11051}]
    # 5. A reading endorsed by Carrier's and MRO Lab's peers (2 of 3: the channel's majority) commits.
    cmd = ["peer", "chaincode", "invoke", "-o", "orderer2.orderer.thermotrace.example:9050", "--tls", "--cafile",
           ORDERER_CA, "-C", CHANNEL, "-n", "thermotrace", "--waitForEvent"]
    for org in ("carrier", "mrolab"):
        cmd += ["--peerAddresses", PEERS_WITH_CARRIER[org], "--tlsRootCertFiles",
                f"{BASE}/{org}.thermotrace.example/tlsca/tlsca.crt"]
    cmd += ["-c", json.dumps({"function": "recordReading", "Args": ["SHP-23", "sensor-c", "1.5", "C",
                                                                    "2026-11-22T11:00:00Z"]})]
    out = tools("carrier", cmd, admin_env("carrier"))
    assert out.rc == 0 and "status:200" in out.stderr, out.stderr
    target = height("carrier")
    wait_for(lambda: height("manufacturer") >= target, 60, "the block on Manufacturer's server")
    history = json.loads(query("manufacturer", "getShipmentHistory", "SHP-23").stdout)
    assert [(r["sensorId"], r["value"]) for r in history] == [("sensor-c", 1.5)]


@pytest.mark.parametrize("org, playbook", [("manufacturer", "fabric_channel_members.yml"),
                                           ("mrolab", "fabric_channel_members.yml"),
                                           ("carrier", "scenario2.yml")])
def test_after_the_join_a_second_run_changes_nothing(run_playbook, org, playbook):
    args = ["-e", _with_carrier(org)] if org != "carrier" else []
    run = org_run(run_playbook, org, playbook, *args)
    assert run.rc == 0, run.failure()
    host = CARRIER["host"] if org == "carrier" else next(o["host"] for o in ORGS if o["name"] == org)
    assert run.recap(host)["changed"] == 0, run.output[-5000:]
