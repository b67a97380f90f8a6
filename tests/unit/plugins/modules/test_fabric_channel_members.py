"""keel.infra.fabric_channel_members against fake CLIs: who signs, when the update is submitted."""

import json

from ansible_collections.keel.infra.plugins.modules import fabric_channel_members

MEMBERS = {"ManufacturerMSP": {}, "MROLabMSP": {}}
UPDATE = {"channel_id": "thermotrace",
          "read_set": {"groups": {"Application": {"groups": dict(MEMBERS)}}},
          "write_set": {"groups": {"Application": {"groups": dict(MEMBERS, CarrierMSP={})}}}}
CARRIER = {"Name": "CarrierMSP", "ID": "CarrierMSP", "MSPDir": "/f/carrier/msp", "AnchorPeers": []}


def block(groups):
    config = {"channel_group": {"groups": {"Application": {"groups": groups}}}}
    return json.dumps({"data": {"data": [{"payload": {"data": {"config": config}}}]}})


def signed(*msp_ids):
    return json.dumps({"payload": {"data": {"config_update": UPDATE, "signatures": [
        {"signature_header": {"creator": {"mspid": m}}} for m in msp_ids]}}})


# The channel lacks Carrier: its config block, the computed update, Carrier's section.
ANSWERS = [("common.Block", (0, block(MEMBERS), "")), ("common.ConfigUpdate", (0, json.dumps(UPDATE), "")),
           ("-printOrg", (0, "{}", ""))]


def args(tmp_path, **extra):
    return dict({"channel": "thermotrace", "organizations": [CARRIER], "msp_id": "ManufacturerMSP",
                 "msp_path": "/f/m/admin/msp", "orderer_address": "orderer1.example.com:8050",
                 "orderer_tls_root_cert": "/f/o/tlsca.crt", "work_dir": str(tmp_path),
                 "update_file": str(tmp_path / "update.pb"), "container": "thermotrace-tools"}, **extra)


def test_a_channel_with_every_organization_is_left_alone(run_module, fake_cli, tmp_path):
    fake = fake_cli([("common.Block", (0, block(dict(MEMBERS, CarrierMSP={})), ""))])
    out = run_module(fabric_channel_members.main, args(tmp_path), fake)
    assert out.result["changed"] is False and out.result["adding"] == []
    assert fake.ran("signconfigtx") == [] and fake.ran("update") == []


def test_the_first_member_signs_and_does_not_submit_alone(run_module, fake_cli, tmp_path):
    fake = fake_cli(ANSWERS)
    out = run_module(fabric_channel_members.main, args(tmp_path), fake)
    assert out.result["changed"] is True
    assert out.result["adding"] == ["CarrierMSP"]
    assert (out.result["signed_by"], out.result["needs"], out.result["submitted"]) == (["ManufacturerMSP"], 2, False)
    assert len(fake.ran("signconfigtx")) == 1 and fake.ran("update") == []
    # The organization's section is read from its imported MSP folder.
    assert json.loads((tmp_path / "configtx.yaml").read_text()) == {"Organizations": [CARRIER]}


def test_the_member_completing_the_majority_signs_and_submits(run_module, fake_cli, tmp_path):
    (tmp_path / "incoming.pb").write_text("signed by Manufacturer")
    fake = fake_cli([("common.Envelope", (0, signed("ManufacturerMSP"), ""))] + ANSWERS)
    out = run_module(fabric_channel_members.main, args(tmp_path, msp_id="MROLabMSP",
                                                       incoming_files=[str(tmp_path / "incoming.pb")]), fake)
    assert out.result["signed_by"] == ["ManufacturerMSP", "MROLabMSP"] and out.result["submitted"] is True
    assert len(fake.ran("signconfigtx")) == 1 and len(fake.ran("update")) == 1


def test_an_update_that_is_not_this_descriptions_is_not_signed(run_module, fake_cli, tmp_path):
    (tmp_path / "update.pb").write_text("another update")
    other = json.dumps({"payload": {"data": {"config_update": {"write_set": {}}, "signatures": []}}})
    fake = fake_cli([("common.Envelope", (0, other, ""))] + ANSWERS)
    out = run_module(fabric_channel_members.main, args(tmp_path), fake)
    assert out.failed and "is not the one this description makes (adding CarrierMSP)" in out.result["msg"]
    assert fake.ran("signconfigtx") == []


def test_check_mode_signs_nothing(run_module, fake_cli, tmp_path):
    fake = fake_cli(ANSWERS)
    out = run_module(fabric_channel_members.main, args(tmp_path), fake, check_mode=True)
    assert out.result["changed"] is True and fake.ran("signconfigtx") == [] and fake.ran("update") == []
