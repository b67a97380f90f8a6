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
