# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.keel.infra.plugins.modules import fabric_msp


def run_module(capsys, args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args), pytest.raises(SystemExit):
        fabric_msp.main()
    return json.loads(capsys.readouterr().out)


def args(tmp_path, **extra):
    base = {
        "path": str(tmp_path / "org"),
        "domain": "mro.example.com",
        "msp_id": "MROLabMSP",
        "identities": [{"name": "peer0", "kind": "peer"}, {"name": "admin", "kind": "admin"}],
    }
    base.update(extra)
    return base


def test_creates_then_reports_no_change(tmp_path, capsys):
    first = run_module(capsys, args(tmp_path))
    assert first["changed"] is True
    assert first["msp_dir"] == str(tmp_path / "org" / "msp")
    assert "peer/peer0" in first["identities"]
    second = run_module(capsys, args(tmp_path))
    assert second["changed"] is False
    assert second["changed_files"] == []


def test_check_mode_reports_and_writes_nothing(tmp_path, capsys):
    result = run_module(capsys, args(tmp_path), check_mode=True)
    assert result["changed"] is True
    assert result["changed_files"]
    assert not os.path.exists(tmp_path / "org")


def test_bad_input_fails_with_a_message(tmp_path, capsys):
    result = run_module(capsys, args(tmp_path, msp_id="bad id"))
    assert result["failed"] is True
    assert "msp_id 'bad id'" in result["msg"]
    assert not os.path.exists(tmp_path / "org")


def test_renew_window_must_fit_the_validity(tmp_path, capsys):
    result = run_module(capsys, args(tmp_path, renew_days=900))
    assert result["failed"] is True
    assert "renew_days" in result["msg"]


def _node_args(tmp_path, **extra):
    fields = {"path": str(tmp_path / "remote"), "ca_on_this_host": False,
              "identities": [{"name": "peer1", "kind": "client"}]}
    fields.update(extra)
    return args(tmp_path, **fields)


def test_keys_on_one_host_certificates_from_the_cas_host(tmp_path, capsys):
    asked = run_module(capsys, _node_args(tmp_path))
    assert asked["changed"] is True and asked["requests"][0]["sign_public_key"]
    assert "PRIVATE" not in json.dumps(asked)
    ca = run_module(capsys, args(tmp_path, requests=asked["requests"]))
    assert ca["newly_issued"] == ["client/peer1"] and "client/peer1" in ca["issued"]
    certificates = {"ca_cert": ca["ca_cert"], "tls_ca_cert": ca["tls_ca_cert"], "identities": ca["identities"]}
    installed = run_module(capsys, _node_args(tmp_path, certificates=certificates))
    assert installed["changed"] is True
    assert installed["identities"]["client/peer1"]["tls_cert"] == ca["issued"]["client/peer1"]["tls_cert"]
    # A second round changes nothing anywhere, in check mode neither.
    asked = run_module(capsys, _node_args(tmp_path))
    assert asked["changed"] is False
    again = run_module(capsys, args(tmp_path, requests=asked["requests"]), check_mode=True)
    assert again["changed"] is False and again["issued"] == ca["issued"]
    assert run_module(capsys, _node_args(tmp_path, certificates=certificates))["changed"] is False


def test_options_of_the_wrong_side_are_refused(tmp_path, capsys):
    ca = run_module(capsys, args(tmp_path))
    certificates = {"ca_cert": ca["ca_cert"], "tls_ca_cert": ca["tls_ca_cert"]}
    result = run_module(capsys, args(tmp_path, certificates=certificates))
    assert result["failed"] is True and "ca_on_this_host: false" in result["msg"]
    result = run_module(capsys, _node_args(tmp_path, requests=[{"name": "peer1", "kind": "peer"}]))
    assert result["failed"] is True and "ca_on_this_host: true" in result["msg"]
    result = run_module(capsys, _node_args(tmp_path, path=str(tmp_path / "org")))
    assert result["failed"] is True and "holds this organization's CA key" in result["msg"]
