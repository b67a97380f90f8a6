"""The Fabric network planner: what runs where, and every rule a description can break."""

import copy

import pytest
from ansible_collections.keel.infra.plugins.module_utils import _fabric_network as fn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

NETWORK = {
    "name": "thermotrace",
    "organizations": [
        {"name": "orderers", "msp_id": "OrdererMSP", "domain": "orderer.example.com"},
        {"name": "manufacturer", "msp_id": "ManufacturerMSP", "domain": "manufacturer.example.com"},
        {"name": "mrolab", "msp_id": "MROLabMSP", "domain": "mrolab.example.com"},
        {"name": "neutral", "msp_id": "NeutralMSP", "domain": "neutral.example.com"},
    ],
    "orderers": [
        {"name": "orderer1", "org": "orderers", "host": "h1", "port": 8050},
        {"name": "orderer2", "org": "orderers", "host": "h1", "port": 9050},
        {"name": "orderer3", "org": "neutral", "host": "h3", "port": 10050},
    ],
    "peers": [
        {"name": "peer0", "org": "manufacturer", "host": "h1", "port": 9051},
        {"name": "peer0", "org": "mrolab", "host": "h2", "port": 7051},
    ],
    "channels": [{"name": "thermotrace", "organizations": ["manufacturer", "mrolab"]}],
    "chaincodes": [{"name": "thermotrace", "channel": "thermotrace", "version": "1.0", "image": "cc:1"}],
}


def bad(mutate):
    network = copy.deepcopy(NETWORK)
    mutate(network)
    return fn.plan(network, "h1")["errors"]


def test_sound_description_has_no_errors_and_default_ports():
    plan = fn.plan(NETWORK, "h1")
    assert plan["errors"] == []
    first = plan["orderers"][0]
    assert (first["port"], first["admin_port"], first["operations_port"]) == (8050, 8053, 18050)
    assert plan["peers"][0]["chaincode_port"] == 9052


def test_what_runs_on_each_host():
    h1, h2 = fn.plan(NETWORK, "h1"), fn.plan(NETWORK, "h2")
    assert [n["fqdn"] for n in h1["local_orderers"]] == ["orderer1.orderer.example.com", "orderer2.orderer.example.com"]
    assert [n["fqdn"] for n in h1["local_peers"]] == ["peer0.manufacturer.example.com"]
    assert [m["org"] for m in h1["material"]] == ["manufacturer", "orderers"]
    assert [m["org"] for m in h2["material"]] == ["mrolab"]
    # Only public endpoints of other hosts' nodes are needed here.
    assert h2["extra_hosts"]["orderer3.neutral.example.com"] == "h3"
    assert "peer0.mrolab.example.com" not in h2["extra_hosts"]


def test_channel_operator_is_the_first_orderers_host_and_joins_are_local():
    h1 = fn.plan(NETWORK, "h1")["local_channels"][0]
    assert h1["operator"] is True
    assert [j["fqdn"] for j in h1["orderer_joins"]] == ["orderer1.orderer.example.com", "orderer2.orderer.example.com"]
    assert h1["orderer_joins"][0]["client_cert"].endswith("/admins/admin.orderer.example.com/tls/client.crt")
    assert [p["address"] for p in h1["peer_joins"]] == ["peer0.manufacturer.example.com:9051"]
    assert h1["orderer_address"] == "orderer1.orderer.example.com:8050"
    h2 = fn.plan(NETWORK, "h2")["local_channels"][0]
    assert h2["operator"] is False and h2["orderer_joins"] == []


def test_each_organization_sets_its_own_anchor_peers_where_its_admin_is():
    h1 = fn.plan(NETWORK, "h1")["local_channels"][0]
    [update] = h1["anchor_updates"]
    assert update["msp_id"] == "ManufacturerMSP" and update["anchor_peers"] == ["peer0.manufacturer.example.com:9051"]
    assert update["msp_path"].endswith("/admins/admin.manufacturer.example.com/msp")
    moved = copy.deepcopy(NETWORK)
    moved["peers"][1]["port"] = 9151
    assert [u["anchor_peers"] for u in fn.plan(moved, "h2")["local_channels"][0]["anchor_updates"]] == [
        ["peer0.mrolab.example.com:9151"]]
    # An organization without peers here sets nothing here.
    assert fn.plan(NETWORK, "h3")["local_channels"][0]["anchor_updates"] == []


def test_chaincode_is_approved_by_local_orgs_and_committed_with_one_peer_per_org():
    cc = fn.plan(NETWORK, "h2")["local_chaincodes"][0]
    assert [o["msp_id"] for o in cc["organizations"]] == ["MROLabMSP"]
    assert cc["channel_msp_ids"] == ["ManufacturerMSP", "MROLabMSP"]
    assert [p["address"] for p in cc["commit_peers"]] == [
        "peer0.manufacturer.example.com:9051", "peer0.mrolab.example.com:7051"]
    assert cc["label"] == "thermotrace_1.0" and cc["address"] == "thermotrace-ccaas:9999"
    assert fn.plan(NETWORK, "h3")["local_chaincodes"] == []


@pytest.mark.parametrize("mutate, message", [
    (lambda n: n["peers"][0].update(port=9050), "host h1: port 9050 is wanted by orderer orderer2"),
    (lambda n: n["peers"][0].update(operations_port=8053), "port 8053 is wanted by orderer orderer1"),
    (lambda n: n["peers"][0].update(port=70000), "must be a port number from 1 to 65535, got 70000"),
    (lambda n: n["organizations"][1].update(msp_id="Manufacturer MSP"), "'Manufacturer MSP' is not an MSP ID"),
    (lambda n: n["organizations"][2].update(name="MRO_Lab"), "'MRO_Lab' must be a lowercase DNS label"),
    (lambda n: n["organizations"][2].update(domain="Bad Domain"), "'Bad Domain' must be a lowercase DNS name"),
    (lambda n: n["channels"][0].update(name="ThermoTrace"), "'ThermoTrace' is not a channel name Fabric accepts"),
    (lambda n: n["peers"].append({"name": "peer1", "org": "logistics", "host": "h1", "port": 11051}),
     "belongs to organization 'logistics', which fabric_network.organizations does not define"),
    (lambda n: n["channels"][0].update(organizations=["manufacturer", "shipper"]), "lists organization 'shipper'"),
    (lambda n: n["chaincodes"][0].update(channel="other"), "for channel 'other', which fabric_network.channels"),
    (lambda n: n["chaincodes"][0].update(name="thermo trace"), "'thermo trace' is not a chaincode name"),
    (lambda n: n["chaincodes"][0].pop("image"), "needs `image`"),
    (lambda n: n["orderers"].append(dict(n["orderers"][0])), "node orderer1.orderer.example.com is defined twice"),
    (lambda n: n["organizations"][2].update(msp_id="ManufacturerMSP"), "share msp_id 'ManufacturerMSP'"),
    (lambda n: n["peers"][0].pop("host"), "needs `host`"),
])
def test_each_broken_rule_is_named(mutate, message):
    errors = bad(mutate)
    assert any(message in e for e in errors), errors


def test_an_org_with_a_bad_msp_id_does_not_orphan_its_nodes():
    errors = bad(lambda n: n["organizations"][1].update(msp_id="1bad"))
    assert len(errors) == 1, errors


def test_configtx_profile():
    plan = fn.plan(NETWORK, "h1")
    profile = fn.configtx(plan, "thermotrace", batch_timeout="1s")["Profiles"]["Channel"]
    consenters = profile["Orderer"]["EtcdRaft"]["Consenters"]
    assert [(c["Host"], c["Port"]) for c in consenters] == [
        ("orderer1.orderer.example.com", 8050), ("orderer2.orderer.example.com", 9050),
        ("orderer3.neutral.example.com", 10050)]
    assert consenters[2]["ServerTLSCert"] == (
        "/var/lib/keel/fabric/neutral.example.com/orderers/orderer3.neutral.example.com/tls/server.crt")
    assert profile["Orderer"]["BatchTimeout"] == "1s"
    assert profile["Orderer"]["Organizations"][0]["OrdererEndpoints"] == [
        "orderer1.orderer.example.com:8050", "orderer2.orderer.example.com:9050"]
    assert profile["Orderer"]["Organizations"][1]["OrdererEndpoints"] == ["orderer3.neutral.example.com:10050"]
    apps = profile["Application"]["Organizations"]
    assert [a["ID"] for a in apps] == ["ManufacturerMSP", "MROLabMSP"]
    assert apps[1]["AnchorPeers"] == [{"Host": "peer0.mrolab.example.com", "Port": 7051}]
    assert apps[0]["Policies"]["Endorsement"]["Rule"] == "OR('ManufacturerMSP.peer')"


def test_compose_stacks():
    plan = fn.plan(NETWORK, "h1")
    orderers = fn.orderer_stack(plan, "hyperledger/fabric-orderer:2.5")
    service = orderers["services"]["orderer1.orderer.example.com"]
    assert service["ports"] == ["8050:8050", "127.0.0.1:8053:8053", "127.0.0.1:18050:18050"]
    assert service["environment"]["ORDERER_GENERAL_BOOTSTRAPMETHOD"] == "none"
    assert service["environment"]["ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED"] == "true"
    assert service["extra_hosts"] == ["orderer3.neutral.example.com:h3", "peer0.mrolab.example.com:h2"]
    assert orderers["networks"]["fabric"] == {"name": "thermotrace", "external": True}
    peers = fn.peer_stack(plan, "hyperledger/fabric-peer:2.5")
    assert set(peers["services"]) == {"peer0.manufacturer.example.com", "couchdb.peer0.manufacturer.example.com"}
    env = peers["services"]["peer0.manufacturer.example.com"]["environment"]
    # A reference to the stack's .env, never the password itself.
    assert env["CORE_LEDGER_STATE_COUCHDBCONFIG_PASSWORD"] == "${FABRIC_COUCHDB_PASSWORD}"  # noqa: S105
    level = fn.peer_stack(plan, "hyperledger/fabric-peer:2.5", state_database="goleveldb")
    assert list(level["services"]) == ["peer0.manufacturer.example.com"]
    chaincode = fn.chaincode_stack(plan, {"thermotrace": "thermotrace_1.0:abc"})
    assert chaincode["services"]["thermotrace-ccaas"]["environment"]["CHAINCODE_ID"] == "thermotrace_1.0:abc"


def test_connection_profile_lists_own_peers_and_admin():
    plan = fn.plan(NETWORK, "h1")
    profile = fn.connection_profile(plan, "manufacturer", "thermotrace", admin_password="s3cret-from-vault")  # noqa: S106
    assert profile["client"]["organization"] == "ManufacturerMSP"
    assert profile["peers"] == {"peer0.manufacturer.example.com": {
        "url": "grpcs://peer0.manufacturer.example.com:9051",
        "tlsCACerts": {"path": "/var/lib/keel/fabric/manufacturer.example.com/tlsca/tlsca.crt"}}}
    org = profile["organizations"]["ManufacturerMSP"]
    assert org["adminPrivateKey"]["path"].endswith("/admins/admin.manufacturer.example.com/msp/keystore/priv_sk")
    assert profile["channels"] == {"thermotrace": {"peers": {"peer0.manufacturer.example.com": {}}}}
    assert profile["client"]["adminCredential"] == {"id": "admin", "password": "s3cret-from-vault"}


# Partners: organizations whose keys another inventory holds, known here by the public definition they exported.

CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
MANUFACTURER_ONLY = {
    "name": "thermotrace",
    "organizations": [{"name": "manufacturer", "msp_id": "ManufacturerMSP", "domain": "manufacturer.example.com"}],
    "partners": ["orderers", "mrolab"],
    "peers": [{"name": "peer0", "org": "manufacturer", "host": "m1", "port": 9051}],
    "channels": [{"name": "thermotrace", "organizations": ["manufacturer", "mrolab"]}],
    "chaincodes": [{"name": "thermotrace", "channel": "thermotrace", "version": "1.0", "image": "cc:1"}],
}
PARTNERS = [
    {"name": "orderers", "msp_id": "OrdererMSP", "domain": "orderer.example.com", "ca_cert": CERT,
     "tls_ca_cert": CERT, "peers": [],
     "orderers": [{"name": "orderer%d" % i, "port": port, "address": "203.0.113.9", "tls_cert": CERT}
                  for i, port in ((1, 8050), (2, 9050), (3, 10050))]},
    {"name": "mrolab", "msp_id": "MROLabMSP", "domain": "mrolab.example.com", "ca_cert": CERT, "tls_ca_cert": CERT,
     "peers": [{"name": "peer0", "port": 7051, "address": "198.51.100.7", "anchor": True}], "orderers": []},
]


def test_partners_nodes_come_from_their_definitions_and_are_reached_at_their_address():
    plan = fn.plan(MANUFACTURER_ONLY, "m1", partners=PARTNERS)
    assert plan["errors"] == []
    assert plan["extra_hosts"]["peer0.mrolab.example.com"] == "198.51.100.7"
    assert plan["extra_hosts"]["orderer1.orderer.example.com"] == "203.0.113.9"
    channel = plan["local_channels"][0]
    assert channel["operator"] is False and channel["orderer_joins"] == []
    assert channel["orderer_address"] == "orderer1.orderer.example.com:8050"
    assert channel["orderer_tls_root_cert"] == "/var/lib/keel/fabric/orderer.example.com/tlsca/tlsca.crt"
    cc = plan["local_chaincodes"][0]
    assert [o["msp_id"] for o in cc["organizations"]] == ["ManufacturerMSP"]
    assert cc["channel_msp_ids"] == ["ManufacturerMSP", "MROLabMSP"]
    assert [p["address"] for p in cc["commit_peers"]] == ["peer0.manufacturer.example.com:9051",
                                                          "peer0.mrolab.example.com:7051"]
    # Keys are made for its own organization only; the partners' public material is written here.
    assert [m["org"] for m in plan["material"]] == ["manufacturer"]
    public = dict((item["org"], item) for item in plan["public"])
    assert sorted(public) == ["mrolab", "orderers"]
    assert sorted(public["orderers"]["node_tls_certs"]) == ["orderer%d.orderer.example.com" % i for i in (1, 2, 3)]
    assert fn.public_material(plan, {}) == plan["public"]


def test_a_partner_whose_file_was_never_imported_is_an_error():
    errors = fn.plan(MANUFACTURER_ONLY, "m1", partners=PARTNERS[:1], partner_dir="/srv/partners")["errors"]
    assert errors[0] == ("fabric_network.partners names 'mrolab', whose public definition was never imported: "
                         "put the file mrolab exported (mrolab.yml) in /srv/partners")


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(msp_id="MRO Lab"), "mrolab's public definition.msp_id 'MRO Lab' is not an MSP ID"),
    (lambda d: d.update(ca_cert="-----BEGIN PRIVATE KEY-----"), "ca_cert must be a PEM certificate"),
    (lambda d: d["peers"][0].pop("address"), "(peer0) needs `address`"),
])
def test_a_broken_partner_definition_is_named(change, message):
    partners = copy.deepcopy(PARTNERS)
    change(partners[1])
    errors = fn.plan(MANUFACTURER_ONLY, "m1", partners=partners)["errors"]
    assert any(message in error for error in errors), errors


def test_a_partner_cannot_also_be_described_here():
    network = copy.deepcopy(MANUFACTURER_ONLY)
    network["peers"].append({"name": "peer1", "org": "mrolab", "host": "m1", "port": 7051})
    errors = fn.plan(network, "m1", partners=PARTNERS)["errors"]
    assert any("belongs to mrolab, a partner" in error for error in errors), errors


# Scenario 3, option B: one orderer organization's orderers on three hosts, its CA on the first.
OPTION_B = copy.deepcopy(NETWORK)
OPTION_B["orderers"] = [
    {"name": "orderer1", "org": "orderers", "host": "h1", "port": 8050},
    {"name": "orderer2", "org": "orderers", "host": "h2", "port": 9050},
    {"name": "orderer3", "org": "orderers", "host": "h3", "port": 10050},
]


def test_an_organizations_orderers_may_run_on_several_hosts_with_its_ca_on_the_first():
    h1, h2, h3 = (fn.plan(OPTION_B, h) for h in ("h1", "h2", "h3"))
    assert h1["errors"] == [] and h1["holders"]["orderers"] == "h1"
    # The CA's host: admin and orderer1, and the hosts that ask it for certificates.
    orderers = [m for m in h1["material"] if m["org"] == "orderers"][0]
    assert [i["name"] for i in orderers["identities"]] == ["admin", "orderer1"]
    assert orderers["requests_from"] == ["h2", "h3"]
    assert h1["node_material"] == []
    # The others: their own orderer's keys, certificates from h1; no admin, no CA.
    assert [m["org"] for m in h3["material"]] == []
    assert h3["node_material"] == [{"org": "orderers", "holder": "h1", "identities": [
        {"name": "orderer3", "kind": "orderer",
         "hosts": ["orderer3.orderer.example.com", "localhost", "127.0.0.1"]}]}]
    assert [m["org"] for m in h2["material"]] == ["mrolab"] and h2["node_material"][0]["org"] == "orderers"
    # Their public material comes with the certificates, not from the CA host's export.
    assert "orderers" not in [p["org"] for p in h3["public"]]
    assert [p["org"] for p in h3["public"]] == ["manufacturer", "mrolab"]


def test_an_orderer_away_from_its_ca_joins_and_reads_as_itself():
    channel = fn.plan(OPTION_B, "h3")["local_channels"][0]
    assert channel["operator"] is False
    node = "/var/lib/keel/fabric/orderer.example.com/orderers/orderer3.orderer.example.com"
    assert channel["orderer_joins"] == [{
        "fqdn": "orderer3.orderer.example.com", "admin_endpoint": "orderer3.orderer.example.com:10053",
        "ca_file": "/var/lib/keel/fabric/orderer.example.com/tlsca/tlsca.crt",
        "client_cert": node + "/tls/server.crt", "client_key": node + "/tls/server.key"}]
    assert channel["block_source"] == {"msp_id": "OrdererMSP", "msp_path": node + "/msp"}
    # On the CA's host, the admin acts.
    h1 = fn.plan(OPTION_B, "h1")["local_channels"][0]
    assert h1["operator"]
    assert h1["orderer_joins"][0]["client_cert"].endswith("/admin.orderer.example.com/tls/client.crt")


def test_an_organizations_peers_stay_with_its_ca_and_admin():
    network = copy.deepcopy(OPTION_B)
    network["peers"].append({"name": "peer1", "org": "manufacturer", "host": "h3", "port": 9061})
    assert fn.plan(network, "h1")["errors"] == [
        "peer peer1.manufacturer.example.com runs on h3, but manufacturer's CA and admin are on h1 (the host of its "
        "first peer): joining a peer and installing chaincode need the organization's admin, whose key stays there; "
        "run manufacturer's peers on h1 (its orderers may run on other hosts)"]
    # An organization with peers keeps its CA with its first peer, wherever its orderers are.
    network = copy.deepcopy(OPTION_B)
    network["orderers"][0]["org"] = "mrolab"
    assert fn.plan(network, "h1")["holders"]["mrolab"] == "h2"


def test_option_b_exports_every_orderer_of_the_organization_from_its_ca_host():
    plan = fn.plan(OPTION_B, "h1")
    results = [{"item": {"org": "orderers"}, "ca_cert": "CA", "tls_ca_cert": "TLSCA",
                "identities": {"orderer/orderer1": {"tls_cert": "T1"}, "orderer/orderer2": {"tls_cert": "T2"},
                               "orderer/orderer3": {"tls_cert": "T3"}}}]
    definition = fn.export_definitions(plan, results)["orderers"]
    assert [(o["name"], o["address"], o["tls_cert"]) for o in definition["orderers"]] == [
        ("orderer1", "h1", "T1"), ("orderer2", "h2", "T2"), ("orderer3", "h3", "T3")]


def test_exports_carry_the_certificates_fabric_msp_returned():
    plan = fn.plan(NETWORK, "h1", addresses={"h1": "192.0.2.1"})
    results = [{"item": {"org": "orderers"}, "ca_cert": "CA", "tls_ca_cert": "TLSCA",
                "identities": {"orderer/orderer1": {"tls_cert": "T1"}, "orderer/orderer2": {"tls_cert": "T2"}}},
               {"item": {"org": "manufacturer"}}]
    definitions = fn.export_definitions(plan, results)
    assert sorted(definitions) == ["orderers"]
    orderers = definitions["orderers"]
    assert orderers["format"] == fn.DEFINITION_FORMAT and orderers["msp_id"] == "OrdererMSP"
    assert orderers["orderers"] == [{"name": "orderer1", "port": 8050, "address": "192.0.2.1", "tls_cert": "T1"},
                                    {"name": "orderer2", "port": 9050, "address": "192.0.2.1", "tls_cert": "T2"}]
    # h3's host reads h1's organizations from h1's export, in the same run.
    h3 = fn.plan(NETWORK, "h3")
    items = fn.public_material(h3, definitions)
    assert [(i["org"], i["held_on"]) for i in items] == [("orderers", "h1")]
    assert items[0]["node_tls_certs"] == {"orderer1.orderer.example.com": "T1", "orderer2.orderer.example.com": "T2"}


# One orderer of option B moves to another host: a consenter change, one orderer per run.
def moved(**hosts):
    network = copy.deepcopy(OPTION_B)
    for orderer in network["orderers"]:
        orderer["host"] = hosts.get(orderer["name"], orderer["host"])
    return fn.plan(network, "h1")


def test_one_orderer_away_from_its_ca_may_move_to_another_host():
    plan = moved(orderer3="h4")
    assert fn.orderer_move_errors(plan, {"orderer3.orderer.example.com": "h3"}, ["h1", "h2", "h3", "h4"]) == []
    # Its organization's CA host now issues its certificates for the keys h4 makes; h3 is not asked any more.
    assert [m for m in plan["material"] if m["org"] == "orderers"][0]["requests_from"] == ["h2", "h4"]


def test_the_consenter_change_of_a_moved_orderer():
    plan = moved(orderer3="h4")
    node = "/var/lib/keel/fabric/orderer.example.com"
    assert fn.consenter_changes(plan, "orderer3.orderer.example.com") == [{
        "channel": plan["channels"][0]["name"], "orderer": "orderer3.orderer.example.com", "port": 10050,
        "tls_cert": node + "/orderers/orderer3.orderer.example.com/tls/server.crt", "org_msp_id": "OrdererMSP",
        "endpoints": ["orderer1.orderer.example.com:8050", "orderer2.orderer.example.com:9050",
                      "orderer3.orderer.example.com:10050"],
        "msp_id": "OrdererMSP", "msp_path": node + "/admins/admin.orderer.example.com/msp",
        "orderer_address": "orderer1.orderer.example.com:8050", "orderer_tls_root_cert": node + "/tlsca/tlsca.crt",
        "work_dir": "/var/lib/keel/fabric/channels/%s/consenters" % plan["channels"][0]["name"]}]


@pytest.mark.parametrize("hosts, moving, inventory, message", [
    ({"orderer2": "h4", "orderer3": "h1"}, {"orderer2.orderer.example.com": "h2", "orderer3.orderer.example.com": "h3"},
     ["h1", "h2", "h3", "h4"], "2 orderers move in this run"),
    ({"orderer2": "h4", "orderer3": "h1"}, {"orderer2.orderer.example.com": "h2", "orderer3.orderer.example.com": "h3"},
     ["h1", "h2", "h3", "h4"], "stops 2 of the 3 orderers of channel"),
    ({"orderer3": "h9"}, {"orderer3.orderer.example.com": "h3"}, ["h1", "h2", "h3"], "h9, which is not a host"),
    ({"orderer1": "h4"}, {"orderer1.orderer.example.com": "h1"}, ["h1", "h2", "h3", "h4"],
     "playbooks/fabric_move.yml's work"),
    ({}, {"orderer9.orderer.example.com": "h3"}, ["h1", "h2", "h3"], "no such orderer any more"),
])
def test_an_unsafe_orderer_move_is_refused(hosts, moving, inventory, message):
    errors = fn.orderer_move_errors(moved(**hosts), moving, inventory)
    assert any(message in error for error in errors), errors


def test_two_orderers_of_a_channel_of_two_cannot_be_replaced_without_losing_its_majority():
    network = copy.deepcopy(OPTION_B)
    network["orderers"] = network["orderers"][:2]
    network["orderers"][1]["host"] = "h4"
    errors = fn.orderer_move_errors(fn.plan(network, "h1"), {"orderer2.orderer.example.com": "h2"}, ["h1", "h2", "h4"])
    assert any("stops 1 of the 2 orderers" in error for error in errors), errors


# A throwaway admin key, made for the test run.
P256_KEY = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def test_an_admin_key_brought_for_one_of_the_inventorys_organizations_passes():
    plan = fn.plan(NETWORK, "h1")
    assert fn.admin_key_errors(plan, "", "", "") == []
    assert fn.admin_key_errors(plan, "ManufacturerMSP", "/runner/env/tmpab12", P256_KEY) == []


@pytest.mark.parametrize("msp_id, key_file, pem, message", [
    ("ManufacturerMSP", "", "", "fabric_admin_msp_id and fabric_admin_key_file go together (the organization, and "
                                "the file on the controller with its admin's key); fabric_admin_key_file is empty"),
    ("", "/keys/admin.pem", P256_KEY, "go together (the organization, and the file on the controller with its "
                                      "admin's key); fabric_admin_msp_id is empty"),
    ("CarrierMSP", "/keys/admin.pem", P256_KEY, "fabric_admin_msp_id CarrierMSP is not an organization whose keys "
                                                "this inventory makes (OrdererMSP, ManufacturerMSP, MROLabMSP, "
                                                "NeutralMSP)"),
    ("ManufacturerMSP", "/keys/missing.pem", "", "fabric_admin_key_file /keys/missing.pem is not a file on the "
                                                 "controller, or it is empty"),
    ("ManufacturerMSP", "/keys/admin.pem", "CHANGE-ME", "fabric_admin_key_file /keys/admin.pem: the admin key is "
                                                        "not a PEM private key"),
])
def test_each_problem_of_a_brought_admin_key_is_named(msp_id, key_file, pem, message):
    errors = fn.admin_key_errors(fn.plan(NETWORK, "h1"), msp_id, key_file, pem)
    assert len(errors) == 1 and message in errors[0]
    assert "PRIVATE KEY" not in errors[0]


def test_a_partners_organization_cannot_get_an_admin_key_here():
    plan = fn.plan(MANUFACTURER_ONLY, "m1", partners=PARTNERS)
    assert fn.admin_key_errors(plan, "MROLabMSP", "/keys/admin.pem", P256_KEY) == [
        "fabric_admin_msp_id MROLabMSP is not an organization whose keys this inventory makes (ManufacturerMSP)"]
