"""Unit tests of keel-pg-backup (roles/postgres_backup/files/keel_pg_backup.py): the parts that need no server."""

import datetime as dt
import hashlib
import importlib.machinery
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[4] / "roles" / "postgres_backup" / "files" / "keel_pg_backup.py"


@pytest.fixture(scope="module")
def tool():
    loader = importlib.machinery.SourceFileLoader("keel_pg_backup", str(SCRIPT))
    spec = importlib.util.spec_from_loader("keel_pg_backup", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def make_backup(root, name, sums=True):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "db-app.dump").write_bytes(b"PGDMP-data")
    (folder / "manifest.json").write_text(json.dumps({"databases": {"app": {"file": "db-app.dump", "tables": {}}}}))
    if sums:
        lines = "".join(f"{hashlib.sha256((folder / f).read_bytes()).hexdigest()}  {f}\n"
                        for f in ("db-app.dump", "manifest.json"))
        (folder / "SHA256SUMS").write_text(lines)
    return folder


def test_row_counts_are_parsed_from_psql_output(tool):
    text = 'public.orders\t1000\nfin."we ird"\t2\n\n'
    assert tool.parse_counts(text) == {"public.orders": 1000, 'fin."we ird"': 2}


def test_only_complete_backups_count(tool, tmp_path):
    make_backup(tmp_path, "20250101T000000Z")
    make_backup(tmp_path, "20250102T000000Z", sums=False)
    (tmp_path / ".partial-20250103T000000Z").mkdir()
    (tmp_path / "notes").mkdir()
    assert tool.complete_backups(tmp_path) == ["20250101T000000Z"]
    assert tool.complete_backups(tmp_path / "missing") == []


def test_retention_removes_old_folders_and_keeps_the_new_one(tool, tmp_path):
    now = dt.datetime.now(dt.UTC)
    old = (now - dt.timedelta(days=10)).strftime(tool.NAME_FMT)
    recent = (now - dt.timedelta(days=2)).strftime(tool.NAME_FMT)
    for name in ("20000101T000000Z", old, recent):
        make_backup(tmp_path, name)
    tool.prune_local(tmp_path, 7, keep="20000101T000000Z")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20000101T000000Z", recent]


def test_pick_backup_latest_and_by_name(tool, tmp_path):
    make_backup(tmp_path, "20250101T000000Z")
    make_backup(tmp_path, "20250102T000000Z")
    assert tool.pick_backup(tmp_path, "latest") == "20250102T000000Z"
    assert tool.pick_backup(tmp_path, "20250101T000000Z") == "20250101T000000Z"
    with pytest.raises(tool.Failure, match="no complete backup named 20990101T000000Z"):
        tool.pick_backup(tmp_path, "20990101T000000Z")


def test_checksums_catch_a_changed_file(tool, tmp_path):
    folder = make_backup(tmp_path, "20250101T000000Z")
    assert "app" in tool.verify_sums(folder)["databases"]
    (folder / "db-app.dump").write_bytes(b"PGDMP-changed")
    with pytest.raises(tool.Failure, match="checksum mismatch"):
        tool.verify_sums(folder)


def test_restore_refuses_without_confirmation(tool, tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"backup_dir": str(tmp_path)}))
    assert tool.main(["--config", str(config), "restore", "--backup", "latest"]) == 1
    assert "repeat with --confirm" in capsys.readouterr().err
