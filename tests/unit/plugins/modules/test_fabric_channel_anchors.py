"""keel.infra.fabric_channel_anchors against fake CLIs: when an organization's anchor peers are updated."""

import json

from ansible_collections.keel.infra.plugins.modules import fabric_channel_anchors


def block(*anchors):
    values = {}
    if anchors:
        values["AnchorPeers"] = {"mod_policy": "Admins", "value": {"anchor_peers": [
            {"host": a.split(":")[0], "port": int(a.split(":")[1])} for a in anchors]}}
    config = {"channel_group": {"groups": {"Application": {"groups": {"MROLabMSP": {"values": values}}}}}}
    return json.dumps({"data": {"data": [{"payload": {"data": {"config": config}}}]}})


class Tools:
    def __init__(self, decoded_block):
        self.block = decoded_block
        self.calls = []

    def __call__(self, argv, environ_update=None, **_kw):
        self.calls.append((argv, environ_update or {}))
        if "common.Block" in argv:
            return 0, self.block, ""
        if "common.ConfigUpdate" in argv:
            return 0, json.dumps({"channel_id": "thermotrace"}), ""
        return 0, "", ""

    def ran(self, word):
        return [c for c in self.calls if word in c[0]]


def args(tmp_path, *anchors):
    return {"channel": "thermotrace", "anchor_peers": list(anchors), "msp_id": "MROLabMSP",
            "msp_path": "/f/mro/admin/msp", "orderer_address": "o1:8050", "orderer_tls_root_cert": "/f/o/tlsca.crt",
            "work_dir": str(tmp_path / "work"), "container": "thermotrace-tools"}


def test_the_same_anchor_peers_are_left_alone(run_module, tmp_path):
    tools = Tools(block("p0.mro:9051"))
    out = run_module(fabric_channel_anchors.main, args(tmp_path, "p0.mro:9051"), tools)
    assert out.result["changed"] is False and out.result["before"] == ["p0.mro:9051"]
    assert tools.ran("compute_update") == [] and tools.ran("update") == []


def test_a_new_port_is_submitted_by_the_organizations_admin(run_module, tmp_path):
    tools = Tools(block("p0.mro:9051"))
    out = run_module(fabric_channel_anchors.main, args(tmp_path, "p0.mro:9151"), tools)
    assert out.result["changed"] is True and out.result["submitted"] is True, out.result
    assert out.result["before"] == ["p0.mro:9051"] and out.result["after"] == ["p0.mro:9151"]
    updated = json.loads((tmp_path / "work" / "updated.pb.json").read_text())
    value = updated["channel_group"]["groups"]["Application"]["groups"]["MROLabMSP"]["values"]["AnchorPeers"]
    assert value["value"] == {"anchor_peers": [{"host": "p0.mro", "port": 9151}]}
    [submit] = [argv for argv, _env in tools.calls if "channel" in argv and "update" in argv]
    assert "CORE_PEER_LOCALMSPID=MROLabMSP" in submit and "CORE_PEER_MSPCONFIGPATH=/f/mro/admin/msp" in submit


def test_check_mode_computes_and_submits_nothing(run_module, tmp_path):
    tools = Tools(block())
    out = run_module(fabric_channel_anchors.main, args(tmp_path, "p0.mro:9051"), tools, check_mode=True)
    assert out.result["changed"] is True and out.result["submitted"] is False
    assert len(tools.ran("compute_update")) == 1
    assert not [argv for argv, _env in tools.calls if "channel" in argv and "update" in argv]


def test_an_organization_not_in_the_channel_fails(run_module, tmp_path):
    out = run_module(fabric_channel_anchors.main, dict(args(tmp_path, "p0.c:7051"), msp_id="CarrierMSP"),
                     Tools(block()))
    assert out.failed and "CarrierMSP is not an application organization" in out.result["msg"]
