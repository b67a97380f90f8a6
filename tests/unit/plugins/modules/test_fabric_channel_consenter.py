"""keel.infra.fabric_channel_consenter against fake CLIs: when a consenter is replaced, and what is submitted."""

import base64
import json

from ansible_collections.keel.infra.plugins.modules import fabric_channel_consenter

PEM = b"-----BEGIN CERTIFICATE-----\nNEW\n-----END CERTIFICATE-----\n"
NEW = base64.b64encode(PEM).decode()


def block(cert):
    config = {"channel_group": {"groups": {"Orderer": {
        "groups": {"OrdererMSP": {"values": {"Endpoints": {"value": {"addresses": ["o1:8050", "o3:10050"]}}}}},
        "values": {"ConsensusType": {"value": {"metadata": {"consenters": [
            {"host": "o1", "port": 8050, "client_tls_cert": "T1", "server_tls_cert": "T1"},
            {"host": "o3", "port": 10050, "client_tls_cert": cert, "server_tls_cert": cert}]}}}}}}}}
    return json.dumps({"data": {"data": [{"payload": {"data": {"config": config}}}]}})


class Channel:
    """The tools: each config block decoded is the next of ``blocks`` (the last one repeats)."""

    def __init__(self, *blocks):
        self.blocks = list(blocks)
        self.calls = []

    def __call__(self, argv, environ_update=None, **_kw):
        self.calls.append(argv)
        if "common.Block" in argv:
            return 0, self.blocks.pop(0) if len(self.blocks) > 1 else self.blocks[0], ""
        if "common.ConfigUpdate" in argv:
            return 0, json.dumps({"channel_id": "thermotrace"}), ""
        return 0, "", ""

    def ran(self, word):
        return [c for c in self.calls if word in c]


def args(tmp_path):
    (tmp_path / "server.crt").write_bytes(PEM)
    return {"channel": "thermotrace", "orderer": "o3", "port": 10050, "tls_cert": str(tmp_path / "server.crt"),
            "org_msp_id": "OrdererMSP", "endpoints": ["o1:8050", "o3:10050"], "msp_id": "OrdererMSP",
            "msp_path": "/f/o/admin/msp", "orderer_address": "o1:8050", "orderer_tls_root_cert": "/f/o/tlsca.crt",
            "work_dir": str(tmp_path / "work"), "container": "thermotrace-tools"}


def test_a_channel_that_names_the_certificate_is_left_alone(run_module, tmp_path):
    tools = Channel(block(NEW))
    out = run_module(fabric_channel_consenter.main, args(tmp_path), tools)
    assert out.result["changed"] is False and out.result["submitted"] is False
    assert tools.ran("update") == [] and tools.ran("compute_update") == []


def test_a_new_certificate_is_submitted_by_the_admin_and_its_block_awaited(run_module, tmp_path):
    tools = Channel(block("OLD"), block(NEW))
    out = run_module(fabric_channel_consenter.main, args(tmp_path), tools)
    assert out.result["changed"] is True and out.result["submitted"] is True, out.result
    assert out.result["before"]["server_tls_cert"] == "OLD" and out.result["after"]["server_tls_cert"] == NEW
    # The update carries the new certificate, computed from the channel's configuration.
    updated = json.loads((tmp_path / "work" / "updated.pb.json").read_text())
    consenters = updated["channel_group"]["groups"]["Orderer"]["values"]["ConsensusType"]["value"]["metadata"]
    assert consenters["consenters"][1]["client_tls_cert"] == NEW
    assert len(tools.ran("update")) == 1 and len(tools.ran("fetch")) == 2


def test_check_mode_computes_and_submits_nothing(run_module, tmp_path):
    tools = Channel(block("OLD"))
    out = run_module(fabric_channel_consenter.main, args(tmp_path), tools, check_mode=True)
    assert out.result["changed"] is True and out.result["submitted"] is False
    assert tools.ran("update") == [] and len(tools.ran("compute_update")) == 1


def test_an_orderer_that_is_no_consenter_is_refused(run_module, tmp_path):
    out = run_module(fabric_channel_consenter.main, dict(args(tmp_path), orderer="o9"), Channel(block("OLD")))
    assert out.failed and "o9 is not a consenter of the channel" in out.result["msg"]
