"""keel.infra.host_state on this machine's files, with fake dpkg-query, systemctl and docker."""

import grp
import hashlib
import json
import os
import pwd

from ansible_collections.keel.infra.plugins.filter.host_state import file_differs, services_to_start
from ansible_collections.keel.infra.plugins.modules import host_state

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
DPKG = "curl\tinstall ok installed\t7.88.1-10\nless\tdeinstall ok config-files\t590-2\n"
SYSTEMCTL = "ActiveState=active\nUnitFileState=enabled\n\nActiveState=inactive\nUnitFileState=disabled\n"
KAFKA = {"Id": "sha256:" + "a" * 64, "RepoTags": ["apache/kafka:4.1.2"]}


def fake(argv, **_kw):
    name = os.path.basename(argv[0])
    if name == "dpkg-query":
        return 1, DPKG, "dpkg-query: no packages found matching gone\n"
    if name == "systemctl":
        return 0, SYSTEMCTL, ""
    if name == "docker":
        return 1, json.dumps(KAFKA) + "\n", "Error: No such image: postgres:15\n"
    raise AssertionError(argv)


def test_one_call_reads_packages_files_services_users_and_images(run_module, tmp_path):
    conf = tmp_path / "daemon.json"
    conf.write_text("{}\n")
    conf.chmod(0o640)
    (tmp_path / "link").symlink_to(conf)
    out = run_module(host_state.main, dict(
        packages=["curl", "less", "gone"],
        files=[str(conf), str(tmp_path), str(tmp_path / "link"), str(tmp_path / "missing")],
        read=[str(conf), str(tmp_path / "missing")],
        services=["docker", "cron"],
        users=[OWNER, "no-such-user-keel"],
        images=["docker.io/apache/kafka:4.1.2", "postgres:15"],
    ), fake, check_mode=True)
    result = out.result
    assert not out.failed and result["changed"] is False
    assert result["packages"] == {"curl": "7.88.1-10", "less": None, "gone": None}
    assert result["files"][str(conf)] == {
        "exists": True, "type": "file", "mode": "0640", "owner": OWNER, "group": GROUP,
        "checksum": hashlib.sha1(b"{}\n").hexdigest()}  # noqa: S324
    assert result["files"][str(tmp_path)]["type"] == "directory"
    assert result["files"][str(tmp_path / "link")]["target"] == str(conf)
    assert result["files"][str(tmp_path / "missing")] == {"exists": False}
    assert result["contents"] == {str(conf): "{}\n", str(tmp_path / "missing"): None}
    assert result["services"] == {"docker": {"active": "active", "enabled": "enabled"},
                                  "cron": {"active": "inactive", "enabled": "disabled"}}
    assert result["users"][OWNER]["exists"] and GROUP in result["users"][OWNER]["groups"]
    assert result["users"]["no-such-user-keel"] == {"exists": False, "groups": []}
    assert result["images"] == {"docker.io/apache/kafka:4.1.2": KAFKA["Id"], "postgres:15": None}


def test_nothing_asked_runs_no_command(run_module):
    def refuse(argv, **_kw):
        raise AssertionError(argv)
    out = run_module(host_state.main, {}, refuse)
    assert out.result["packages"] == {} and out.result["services"] == {} and out.result["images"] == {}


def test_file_differs_compares_content_mode_owner_and_kind():
    same = {"exists": True, "type": "file", "mode": "0644", "owner": "root", "group": "root",
            "checksum": hashlib.sha1(b"x\n").hexdigest()}  # noqa: S324
    assert not file_differs(same, content="x\n", mode="0644")
    assert not file_differs(same, content="x\n", mode=0o644 and "644")
    assert file_differs(same, content="y\n", mode="0644")
    assert file_differs(same, content="x\n", mode="0600")
    assert file_differs(dict(same, owner="deploy"), content="x\n")
    assert file_differs(same, kind="directory")
    assert file_differs({"exists": False}, content="x\n")
    assert not file_differs(same, checksum=same["checksum"])
    assert file_differs(same, checksum="0" * 40)


def test_services_to_start_names_what_is_stopped_or_not_enabled():
    services = {"a": {"active": "active", "enabled": "enabled"}, "b": {"active": "inactive", "enabled": "enabled"},
                "c": {"active": "active", "enabled": "disabled"}, "d": {"active": "active", "enabled": "static"}}
    assert services_to_start(services) == ["b", "c"]
