"""A channel's configuration as configtxlator prints it, and the update that adds an organization."""

import pytest
from ansible_collections.keel.infra.plugins.module_utils import _fabric_config as fc

CONFIG = {"channel_group": {"groups": {
    "Application": {"groups": {"ManufacturerMSP": {"values": {}}, "MROLabMSP": {"values": {}}}, "version": "1"},
    "Orderer": {"groups": {"OrdererMSP": {}}}}}}
BLOCK = {"data": {"data": [{"payload": {"data": {"config": CONFIG}}}]}}
UPDATE = {"channel_id": "thermotrace",
          "read_set": {"groups": {"Application": {"groups": {"ManufacturerMSP": {}, "MROLabMSP": {}}}}},
          "write_set": {"groups": {"Application": {"groups": {"ManufacturerMSP": {}, "MROLabMSP": {},
                                                              "CarrierMSP": {"version": "0"}}}}}}


def signature(msp_id):
    return {"signature": "c2ln", "signature_header": {"creator": {"id_bytes": "LS0t", "mspid": msp_id}, "nonce": "x"}}


def test_members_of_a_config_block():
    config = fc.channel_config(BLOCK)
    assert fc.application_members(config) == ["MROLabMSP", "ManufacturerMSP"]
    with pytest.raises(ValueError, match="not a config block"):
        fc.channel_config({"data": {}})


def test_an_organization_is_added_to_a_copy():
    updated = fc.with_organizations(CONFIG, {"CarrierMSP": {"values": {"MSP": {}}}})
    assert fc.application_members(updated) == ["CarrierMSP", "MROLabMSP", "ManufacturerMSP"]
    assert fc.application_members(CONFIG) == ["MROLabMSP", "ManufacturerMSP"]


def test_envelope_round_trip_and_its_signers():
    envelope = fc.envelope("thermotrace", UPDATE)
    assert envelope["payload"]["header"]["channel_header"] == {"channel_id": "thermotrace", "type": 2}
    envelope["payload"]["data"]["signatures"] = [signature("ManufacturerMSP"), signature("ManufacturerMSP"),
                                                 signature("MROLabMSP")]
    update, signers = fc.envelope_parts(envelope)
    assert update == UPDATE
    assert signers == ["ManufacturerMSP", "MROLabMSP"]
    assert fc.added_organizations(update) == ["CarrierMSP"]
    with pytest.raises(ValueError, match="not a config update envelope"):
        fc.envelope_parts({"payload": {}})


@pytest.mark.parametrize("members, needed", [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_a_majority_of_the_members_sign(members, needed):
    assert fc.majority(members) == needed


RAFT = {"channel_group": {"groups": {"Orderer": {
    "groups": {"OrdererMSP": {"values": {"Endpoints": {"mod_policy": "Admins", "value": {"addresses": ["o3:10050"]}}}}},
    "values": {"ConsensusType": {"value": {"metadata": {"consenters": [
        {"host": "o1", "port": 8050, "client_tls_cert": "T1", "server_tls_cert": "T1"},
        {"host": "o3", "port": 10050, "client_tls_cert": "OLD", "server_tls_cert": "OLD"}]}}}}}}}}


def test_a_consenter_is_replaced_in_a_copy():
    updated = fc.with_consenter(RAFT, "o3", "o3", 10051, "NEW", "OrdererMSP", ["o1:8050", "o3:10051"])
    assert fc.consenters(updated) == [
        {"host": "o1", "port": 8050, "client_tls_cert": "T1", "server_tls_cert": "T1"},
        {"host": "o3", "port": 10051, "client_tls_cert": "NEW", "server_tls_cert": "NEW"}]
    orderer_org = updated["channel_group"]["groups"]["Orderer"]["groups"]["OrdererMSP"]
    assert orderer_org["values"]["Endpoints"] == {"mod_policy": "Admins",
                                                  "value": {"addresses": ["o1:8050", "o3:10051"]}}
    assert fc.consenters(RAFT)[1]["server_tls_cert"] == "OLD"
    # Nothing to change: the same configuration.
    same = fc.with_consenter(RAFT, "o3", "o3", 10050, "OLD", "OrdererMSP", ["o3:10050"])
    assert same == RAFT


def test_only_a_consenter_that_is_there_is_replaced():
    with pytest.raises(ValueError, match="o9 is not a consenter of the channel"):
        fc.with_consenter(RAFT, "o9", "o9", 1, "NEW", "OrdererMSP", [])
    with pytest.raises(ValueError, match="OtherMSP is not an orderer organization"):
        fc.with_consenter(RAFT, "o3", "o3", 1, "NEW", "OtherMSP", [])
    with pytest.raises(ValueError, match="not a Raft channel"):
        fc.consenters({"channel_group": {"groups": {"Orderer": {"values": {}}}}})


ANCHORED = {"channel_group": {"groups": {"Application": {"groups": {
    "MROLabMSP": {"values": {"AnchorPeers": {"mod_policy": "Admins", "version": "0",
                                             "value": {"anchor_peers": [{"host": "p0.mro", "port": 9051}]}}}},
    "ManufacturerMSP": {"values": {}}}}}}}


def test_anchor_peers_are_set_in_a_copy():
    assert fc.anchor_peers(ANCHORED, "MROLabMSP") == ["p0.mro:9051"]
    assert fc.anchor_peers(ANCHORED, "ManufacturerMSP") == []
    moved = fc.with_anchor_peers(ANCHORED, "MROLabMSP", ["p0.mro:9151"])
    assert fc.anchor_peers(moved, "MROLabMSP") == ["p0.mro:9151"]
    entry = moved["channel_group"]["groups"]["Application"]["groups"]["MROLabMSP"]["values"]["AnchorPeers"]
    assert entry["mod_policy"] == "Admins" and entry["version"] == "0"
    assert fc.anchor_peers(ANCHORED, "MROLabMSP") == ["p0.mro:9051"]
    added = fc.with_anchor_peers(ANCHORED, "ManufacturerMSP", ["p0.m:7051", "p1.m:8051"])
    assert fc.anchor_peers(added, "ManufacturerMSP") == ["p0.m:7051", "p1.m:8051"]
    removed = fc.with_anchor_peers(ANCHORED, "MROLabMSP", [])
    assert "AnchorPeers" not in removed["channel_group"]["groups"]["Application"]["groups"]["MROLabMSP"]["values"]


def test_the_same_anchor_peers_are_no_change():
    assert fc.with_anchor_peers(ANCHORED, "MROLabMSP", ["p0.mro:9051"]) is ANCHORED
    added = fc.with_anchor_peers(ANCHORED, "ManufacturerMSP", ["a:1", "b:2"])
    assert fc.with_anchor_peers(added, "ManufacturerMSP", ["b:2", "a:1"]) is added


def test_anchor_peers_of_an_organization_that_is_there_in_host_port_form():
    with pytest.raises(ValueError, match="CarrierMSP is not an application organization"):
        fc.with_anchor_peers(ANCHORED, "CarrierMSP", ["p0.c:7051"])
    with pytest.raises(ValueError, match="'p0.mro' is not host:port"):
        fc.with_anchor_peers(ANCHORED, "MROLabMSP", ["p0.mro"])
