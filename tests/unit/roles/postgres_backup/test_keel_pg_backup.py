"""Unit tests of keel-pg-backup (roles/postgres_backup/files/keel_pg_backup.py): the parts that need no server."""

import datetime as dt
import gzip
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
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


def copy_text(rows):
    """COPY text format as the server writes it: tab, newline, CR and backslash escaped."""
    def field(value):
        if value is None:
            return "\\N"
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return "".join("\t".join(field(v) for v in row) + "\n" for row in rows).encode()


ROWS = [("1", "line one\nline two"), ("2", "a\tb\tc"), ("3", "\\."), ("4", ".\n\\.\n"), ("5", None), ("6", "")]


@pytest.mark.parametrize("end", [b"", b"\\.\n", b"\\.\n\n\n"])
@pytest.mark.parametrize("gzipped", [False, True])
def test_rows_are_counted_from_copy_data_with_escaped_newlines_and_tabs(tool, end, gzipped):
    data = copy_text(ROWS) + end
    counter = tool.RowCounter(gzipped)
    payload = gzip.compress(data) if gzipped else data
    for i in range(0, len(payload), 7):  # in small pieces, as a growing file is read
        counter.feed(payload[i:i + 7])
    assert counter.complete
    assert counter.rows() == len(ROWS)


EDGE_CASES = [(b"", 0), (b"\\.\n\n\n", 0), (b"\n\n\n\\.\n\n\n", 3), (b"x\\\\.\n\\.\n\n\n", 1), (b"\n\n", 2)]


@pytest.mark.parametrize(("data", "rows"), EDGE_CASES)
def test_empty_tables_and_tables_without_columns(tool, data, rows):
    counter = tool.RowCounter(False)
    counter.feed(data)
    assert counter.rows() == rows


def test_a_value_ending_in_backslash_dot_is_a_row(tool):
    counter = tool.RowCounter(False)
    counter.feed(b"y" * 100 + copy_text([("a\\.",)]))
    assert counter.rows() == 1


def test_large_gzip_data_and_concatenated_members(tool):
    data = copy_text([(str(i), "x" * 50) for i in range(200_000)])
    counter = tool.RowCounter(True)
    counter.feed(gzip.compress(data[:1000]) + gzip.compress(data[1000:] + b"\\.\n\n\n"))
    assert counter.complete and counter.rows() == 200_000
    truncated = tool.RowCounter(True)
    truncated.feed(gzip.compress(data)[:-20])
    assert not truncated.complete


def test_parent_tables_count_their_descendants(tool):
    tables = {1: ("s.parent", []), 2: ("s.p1", [1]), 3: ("s.p2", [1]), 4: ("s.sub", [3]), 5: ("s.alone", []),
              6: ("s.nodata", [])}
    counts = tool.table_counts(tables, {1: 1, 2: 10, 3: 100, 4: 1000, 5: 7})
    assert counts == {"s.parent": 1111, "s.p1": 10, "s.p2": 1100, "s.sub": 1000, "s.alone": 7, "s.nodata": 0}


def test_table_data_entries_are_read_from_the_listing(tool):
    listing = (";\n; Archive created at 2026-01-01\n216; 1259 16391 TABLE public pgbench_accounts postgres\n"
               "3358; 0 16391 TABLE DATA public pgbench_accounts postgres\n"
               "3359; 0 16394 TABLE DATA public \"we ird; name\" postgres\n"
               "3211; 2606 16406 CONSTRAINT public pgbench_accounts pgbench_accounts_pkey postgres\n")
    assert tool.toc_data_entries(listing) == {3358: 16391, 3359: 16394}


def test_the_copier_follows_growing_files(tool, tmp_path):
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.mkdir()
    dest.mkdir()
    copier = tool.DumpCopier(src, dest)
    data = gzip.compress(copy_text(ROWS) + b"\\.\n\n\n")
    (src / "3001.dat.gz").write_bytes(data[:10])
    assert copier.poll() == 10
    with open(src / "3001.dat.gz", "ab") as fh:
        fh.write(data[10:])
    (src / "3002.dat").write_bytes(b"")
    (src / "toc.dat").write_bytes(b"PGDMP...")
    assert copier.finish() == {3001: len(ROWS), 3002: 0}
    assert (dest / "3001.dat.gz").read_bytes() == data
    assert (dest / "toc.dat").read_bytes() == b"PGDMP..."
    assert copier.digests["3001.dat.gz"] == hashlib.sha256(data).hexdigest()


def test_an_incomplete_gzip_file_fails_the_backup(tool, tmp_path):
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.mkdir()
    dest.mkdir()
    (src / "3001.dat.gz").write_bytes(gzip.compress(copy_text(ROWS))[:-10])
    with pytest.raises(tool.Failure, match="incomplete"):
        tool.DumpCopier(src, dest).finish()


def test_dump_jobs_are_sized_to_the_host_and_the_tables(tool):
    assert tool.dump_jobs({"jobs": 0}, {1: None}) == 1
    assert tool.dump_jobs({"jobs": 3}, dict.fromkeys(range(10))) == 3
    assert 1 <= tool.dump_jobs({}, dict.fromkeys(range(100))) <= 100
    assert tool.dump_jobs({"jobs": 4}, {}) == 1


# ------------------------------------------------------------------ S3 (rclone faked)
# A stand-in for the rclone commands keel-pg-backup runs, on a folder that plays the
# S3 server (`:s3:bucket/key` is FAKE_S3/bucket/key). Each call is logged with the
# secret's place: on the command line, or in the environment.
FAKE_RCLONE = r'''
import filecmp, json, os, shutil, sys
from pathlib import Path
args = sys.argv[1:]
root = Path(os.environ["FAKE_S3"])
with open(root.parent / "rclone.log", "a") as log:
    log.write(json.dumps({"argv": args, "secret": os.environ.get("RCLONE_S3_SECRET_ACCESS_KEY"),
                          "config": os.environ.get("RCLONE_CONFIG")}) + "\n")
def path(p):
    return root / p[len(":s3:"):] if p.startswith(":s3:") else Path(p)
exclude = args[args.index("--exclude") + 1].lstrip("/") if "--exclude" in args else None
command, *rest = [a for i, a in enumerate(args) if not a.startswith("--") and (i == 0 or args[i - 1] not in
                  ("--exclude", "--include", "--max-depth"))]
if command == os.environ.get("FAKE_FAIL"):
    sys.exit("fake failure of " + command)
if command == "lsf":
    base = path(rest[0])
    entries = sorted(base.iterdir()) if base.is_dir() else []
    if "--dirs-only" in args:
        print("\n".join(e.name + "/" for e in entries if e.is_dir()))
    else:
        print("\n".join(f"{e.name}/SHA256SUMS" for e in entries if (e / "SHA256SUMS").is_file()))
elif command == "copy":
    shutil.copytree(path(rest[0]), path(rest[1]), dirs_exist_ok=True,
                    ignore=lambda d, names: [exclude] if exclude in names and Path(d) == path(rest[0]) else [])
elif command == "check":
    src, dest = path(rest[0]), path(rest[1])
    for f in src.rglob("*"):
        if f.is_file() and f.relative_to(src).as_posix() != exclude:
            if not filecmp.cmp(f, dest / f.relative_to(src), shallow=False):
                sys.exit(f"differs: {f}")
elif command == "copyto":
    path(rest[1]).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path(rest[0]), path(rest[1]))
elif command == "purge":
    shutil.rmtree(path(rest[0]))
else:
    sys.exit("fake rclone: unknown command " + command)
'''
SECRET = "s3cret=with#odd chars"  # noqa: S105 - a test value


@pytest.fixture
def s3(tmp_path, monkeypatch):
    """A fake S3 server (folder FAKE_S3 with the bucket `bk`), rclone on PATH, and the role's credentials file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "rclone").write_text(f"#!{sys.executable}\n{FAKE_RCLONE}")
    (bin_dir / "rclone").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_S3", str(tmp_path / "s3"))
    (tmp_path / "s3" / "bk").mkdir(parents=True)
    env_file = tmp_path / "s3.env"
    env_file.write_text(f"# managed\nRCLONE_S3_PROVIDER=Other\n\nRCLONE_S3_SECRET_ACCESS_KEY={SECRET}\n")
    target = {"type": "s3", "bucket": "bk", "prefix": "/pg/db1/", "env_file": str(env_file)}
    return {"target": target, "folder": tmp_path / "s3" / "bk" / "pg" / "db1", "log": tmp_path / "rclone.log",
            "cfg": {"backup_dir": str(tmp_path / "backups"), "target": target, "drill": {}}}


def rclone_calls(s3):
    return [json.loads(line) for line in s3["log"].read_text().splitlines()]


def ago(tool, days):
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).strftime(tool.NAME_FMT)


def test_the_credentials_file_is_read_as_written(tool, s3):
    env = tool.read_env_file(s3["target"]["env_file"])
    assert env == {"RCLONE_S3_PROVIDER": "Other", "RCLONE_S3_SECRET_ACCESS_KEY": SECRET}
    Path(s3["target"]["env_file"]).write_text("RCLONE_S3_PROVIDER=Other\njust a line\n")
    with pytest.raises(tool.Failure, match="line 2: not a KEY=VALUE line"):
        tool.read_env_file(s3["target"]["env_file"])


def test_s3_gets_the_new_backup_then_the_missed_ones_and_loses_the_aged(tool, s3, tmp_path):
    root = tmp_path / "backups"
    new, missed, there, aged = ago(tool, 0), ago(tool, 2), ago(tool, 1), ago(tool, 9)
    for name in (new, missed, there):
        make_backup(root, name)
    make_backup(s3["folder"], there)
    make_backup(s3["folder"], aged)
    tool.copy_to_s3(s3["target"], root, new, 7)
    assert tool.S3(s3["target"]).complete() == sorted([new, missed, there])
    for name in (new, missed):
        assert (s3["folder"] / name / "SHA256SUMS").read_bytes() == (root / name / "SHA256SUMS").read_bytes()
    calls = rclone_calls(s3)
    # The secret reaches rclone in its environment only, and no rclone.conf is read.
    assert all(c["secret"] == SECRET and c["config"] == "/dev/null" for c in calls)
    assert not [c for c in calls if any(SECRET in a for a in c["argv"])]
    uploads = [(c["argv"][0], c["argv"][-1].rsplit("/", 2)[-2:]) for c in calls
               if c["argv"][0] in ("copy", "check", "copyto")]
    # The new backup first; each copy checked before its SHA256SUMS marks it complete.
    assert [(cmd, where[-1] if cmd != "copyto" else where[0]) for cmd, where in uploads] == [
        ("copy", new), ("check", new), ("copyto", new), ("copy", missed), ("check", missed), ("copyto", missed)]
    assert [c["argv"][-1].rsplit("/", 1)[-1] for c in calls if c["argv"][0] == "purge"] == [aged]


def test_a_copy_whose_check_fails_is_not_complete_in_s3(tool, s3, tmp_path, monkeypatch):
    root = tmp_path / "backups"
    name = ago(tool, 0)
    make_backup(root, name)
    monkeypatch.setenv("FAKE_FAIL", "check")
    with pytest.raises(tool.Failure, match="rclone check of .* failed"):
        tool.copy_to_s3(s3["target"], root, name, 7)
    assert (s3["folder"] / name / "manifest.json").exists()
    assert tool.S3(s3["target"]).complete() == []


def test_a_backup_from_s3_is_downloaded_checked_and_removed_afterwards(tool, s3, tmp_path):
    root = tmp_path / "backups"
    make_backup(s3["folder"], "20250101T000000Z")
    make_backup(s3["folder"], "20250102T000000Z")
    make_backup(s3["folder"], "20250103T000000Z", sums=False)
    with tool.backup_folder(s3["cfg"], "latest", "s3") as (name, folder, manifest):
        assert name == "20250102T000000Z"
        assert folder.parent.parent == root and folder.parent.name.startswith(".fetch-")
        assert "app" in manifest["databases"]
        assert (folder / "db-app.dump").read_bytes() == b"PGDMP-data"
    assert list(root.iterdir()) == []
    with tool.backup_folder(s3["cfg"], "20250101T000000Z", "s3") as (name, _folder, _manifest):
        assert name == "20250101T000000Z"


def test_a_changed_copy_in_s3_is_refused_and_removed(tool, s3, tmp_path):
    make_backup(s3["folder"], "20250101T000000Z")
    (s3["folder"] / "20250101T000000Z" / "db-app.dump").write_bytes(b"PGDMP-changed")
    with pytest.raises(tool.Failure, match="checksum mismatch"), tool.backup_folder(s3["cfg"], "latest", "s3"):
        pytest.fail("a changed copy was handed out")
    assert list((tmp_path / "backups").iterdir()) == []


def test_s3_as_a_source_needs_the_s3_target(tool, tmp_path):
    cfg = {"backup_dir": str(tmp_path), "target": {"type": "ssh"}}
    with pytest.raises(tool.Failure, match="copies its backups to ssh, not to S3"), \
            tool.backup_folder(cfg, "latest", "s3"):
        pytest.fail("no S3 to read from")
    with pytest.raises(tool.Failure, match="no complete backup in"), tool.backup_folder(cfg, "latest", "local"):
        pytest.fail("no backup to read")


def test_list_reads_s3_with_source_s3(tool, s3, tmp_path, capsys):
    make_backup(s3["folder"], "20250101T000000Z")
    config = tmp_path / "config.json"
    config.write_text(json.dumps(s3["cfg"]))
    assert tool.main(["--config", str(config), "--json", "list", "--source", "s3"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"backups": ["20250101T000000Z"], "source": "s3",
                                                                    "last_drill": None}


def test_list_tells_the_last_drills_result(tool, tmp_path, capsys):
    make_backup(tmp_path / "backups", "20250101T000000Z")
    status = tmp_path / "status"
    status.mkdir()
    (status / "last-drill.json").write_text(json.dumps({"backup": "20250101T000000Z", "ok": True}))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"backup_dir": str(tmp_path / "backups"), "status_dir": str(status)}))
    assert tool.main(["--config", str(config), "--json", "list"]) == 0
    listed = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert listed["backups"] == ["20250101T000000Z"] and listed["last_drill"] == {"backup": "20250101T000000Z",
                                                                                  "ok": True}


def test_scratch_folders_of_ended_runs_are_removed(tool, tmp_path):
    mine = tmp_path / f"{tool.FETCH}{os.getpid()}-abc"
    gone = tmp_path / f"{tool.FETCH}999999999-abc"
    for folder in (mine, gone):
        folder.mkdir()
    tool.remove_stale_fetches(tmp_path)
    assert mine.exists() and not gone.exists()


def test_a_file_missing_from_a_backup_is_named(tool, tmp_path):
    folder = make_backup(tmp_path, "20250101T000000Z")
    (folder / "db-app.dump").unlink()
    with pytest.raises(tool.Failure, match="missing file: .*db-app.dump"):
        tool.verify_sums(folder)
