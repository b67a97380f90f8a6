"""Unit tests of keel-pg-backup (roles/postgres_backup/files/keel_pg_backup.py): the parts that need no server."""

import datetime as dt
import gzip
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sqlite3
import sys
import threading
import time
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
elif command == "cat":
    sys.stdout.write(path(rest[0]).read_text())
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
    listed = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert listed == {"backups": ["20250101T000000Z"], "source": "s3", "last_drill": None,
                      "contents": {"20250101T000000Z": {"postgres": ["app"], "sqlite": []}}}


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


# ------------------------------------------------------------------ SQLite files (real files, no server)
def sqlite_app(path):
    """A WAL-mode SQLite file as an application keeps it: orders written in batches of ten, one
    row in `batches` per batch in the same transaction (a consistent copy has 10 orders a batch)."""
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, batch INTEGER, item TEXT)")
    conn.execute("CREATE TABLE batches (batch INTEGER PRIMARY KEY)")
    conn.execute('CREATE TABLE "we ird""name" (x)')
    conn.commit()
    return conn


def write_batches(conn, first, count):
    for batch in range(first, first + count):
        with conn:
            conn.executemany("INSERT INTO orders (batch, item) VALUES (?, ?)",
                             [(batch, "x" * 200)] * 10)
            conn.execute("INSERT INTO batches VALUES (?)", (batch,))


def sqlite_config(tmp_path, live, **extra):
    config = tmp_path / "config.json"
    cfg = {"backup_dir": str(tmp_path / "backups"), "status_dir": str(tmp_path / "status"), "postgres": False,
           "sqlite": [{"name": "shop", "path": str(live)}], "compress": "6", "retention_days": 7,
           "target": {"type": "none"}, "drill": {"checks": [], "source": "local"}, **extra}
    config.write_text(json.dumps(cfg))
    return config


def run_tool(tool, capsys, *argv):
    """keel-pg-backup's main with --json: (exit status, result, stderr)."""
    rc = tool.main(["--json", *argv])
    out, err = capsys.readouterr()
    return rc, json.loads(out.splitlines()[-1]) if rc == 0 else None, err


@pytest.fixture
def live_db(tmp_path):
    live = tmp_path / "app" / "orders.db"
    live.parent.mkdir()
    conn = sqlite_app(live)
    write_batches(conn, 0, 50)
    yield live, conn
    conn.close()


@pytest.mark.parametrize(("compress", "suffix"), [("6", ".db.gz"), ("0", ".db")])
def test_a_sqlite_snapshot_taken_while_the_app_writes_is_consistent(tool, tmp_path, capsys, live_db, compress,
                                                                    suffix):
    live, _conn = live_db
    config = sqlite_config(tmp_path, live, compress=compress)
    stop, written = threading.Event(), []

    def writer():
        # The application's own connection, in another thread, writing all along.
        conn = sqlite3.connect(live, timeout=30)
        batch = 1000
        while not stop.is_set():
            write_batches(conn, batch, 1)
            written.append(batch)
            batch += 1
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            time.sleep(0.01)
        rc, result, err = run_tool(tool, capsys, "--config", str(config), "backup")
        during = len(written)
        while len(written) < during + 20:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
    assert rc == 0, err
    folder = tmp_path / "backups" / result["backup"]
    manifest = json.loads((folder / "manifest.json").read_text())
    shop = manifest["sqlite"]["shop"]
    assert manifest["databases"] == {} and "globals" not in manifest
    assert shop["integrity_check"] == "ok" and shop["path"] == str(live) and shop["file"] == "sqlite-shop" + suffix
    tables = shop["tables"]
    # Writes went on before, during and after the snapshot; it holds whole batches only.
    assert 50 + 20 <= tables["batches"] < 50 + len(written)
    assert tables["orders"] == 10 * tables["batches"]
    assert tables['we ird"name'] == 0
    # Every file of the folder is in SHA256SUMS, and no -wal or -shm file lies beside the copy.
    listed = {line.split("  ", 1)[1] for line in (folder / "SHA256SUMS").read_text().splitlines()}
    assert listed == {p.name for p in folder.iterdir()} - {"SHA256SUMS"} == {"manifest.json", shop["file"]}
    tool.verify_sums(folder)


def test_a_sqlite_drill_checks_sums_counts_and_sentinels(tool, tmp_path, capsys, live_db):
    live, _conn = live_db
    checks = [{"database": "shop", "query": "SELECT count(*) FROM batches WHERE batch = 7"}]
    config = sqlite_config(tmp_path, live, drill={"checks": checks, "source": "local"})
    rc, result, err = run_tool(tool, capsys, "--config", str(config), "backup")
    assert rc == 0, err
    name, folder = result["backup"], tmp_path / "backups" / result["backup"]
    rc, drilled, err = run_tool(tool, capsys, "--config", str(config), "drill")
    assert rc == 0, err
    assert drilled["ok"] and drilled["backup"] == name and drilled["databases"] == ["shop"]
    assert json.loads((tmp_path / "status" / "last-drill.json").read_text())["ok"] is True
    # Only scratch files were used, and they are gone; the live file is as it was.
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [name]
    assert sqlite3.connect(live).execute("SELECT count(*) FROM orders").fetchone()[0] == 500
    # A wrong count in the manifest (sums made anew) and a sentinel that finds nothing.
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sqlite"]["shop"]["tables"]["orders"] = 499
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "SHA256SUMS").write_text("".join(f"{hashlib.sha256((folder / f).read_bytes()).hexdigest()}  {f}\n"
                                               for f in ("manifest.json", "sqlite-shop.db.gz")))
    checks.append({"database": "shop", "query": "SELECT 1 FROM batches WHERE batch = 999999"})
    config = sqlite_config(tmp_path, live, drill={"checks": checks, "source": "local"})
    rc, _result, err = run_tool(tool, capsys, "--config", str(config), "drill")
    assert rc == 1
    assert "RESTORE DRILL FAILED" in err and "shop: orders: manifest 499 rows, restored 500" in err
    assert "sentinel check on shop found nothing: SELECT 1 FROM batches WHERE batch = 999999" in err
    assert json.loads((tmp_path / "status" / "last-drill.json").read_text())["ok"] is False
    # A changed snapshot: refused by its sum before anything is unpacked.
    packed = folder / "sqlite-shop.db.gz"
    packed.write_bytes(packed.read_bytes()[:-8] + b"\0" * 8)
    rc, _result, err = run_tool(tool, capsys, "--config", str(config), "drill")
    assert rc == 1 and "checksum mismatch" in err and "sqlite-shop.db.gz" in err


def test_a_confirmed_sqlite_restore_brings_rows_back_while_the_app_has_the_file_open(tool, tmp_path, capsys,
                                                                                     live_db):
    live, conn = live_db
    config = sqlite_config(tmp_path, live)
    rc, result, err = run_tool(tool, capsys, "--config", str(config), "backup")
    assert rc == 0, err
    with conn:
        conn.execute("DELETE FROM orders WHERE batch < 40")
    assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 100
    rc, _result, err = run_tool(tool, capsys, "--config", str(config), "restore", "--backup", "latest")
    assert rc == 1 and "repeat with --confirm" in err
    rc, restored, err = run_tool(tool, capsys, "--config", str(config), "restore", "--backup", result["backup"],
                                 "--confirm", "--database", "shop")
    assert rc == 0, err
    assert restored["databases"] == ["shop"]
    # The application's open connection sees the rows again; the file stays in WAL mode.
    assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 500
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with conn:
        conn.execute("INSERT INTO batches VALUES (5000)")
    # A lost file is made anew, with the mode it had.
    live.chmod(0o640)
    time.sleep(1.05)  # backups are named by the second
    rc, result, err = run_tool(tool, capsys, "--config", str(config), "backup")
    assert rc == 0, err
    conn.close()
    for path in live.parent.iterdir():
        path.unlink()
    rc, _result, err = run_tool(tool, capsys, "--config", str(config), "restore", "--backup", "latest", "--confirm")
    assert rc == 0, err
    assert oct(live.stat().st_mode & 0o777) == "0o640"
    assert sqlite3.connect(live).execute("SELECT count(*) FROM batches").fetchone()[0] == 51
    rc, _result, err = run_tool(tool, capsys, "--config", str(config), "restore", "--backup", "latest", "--confirm",
                                "--database", "nosuch")
    assert rc == 1 and "has no dump of nosuch" in err


def test_sqlite_backups_are_pruned_listed_and_copied_like_the_dumps(tool, tmp_path, capsys, live_db, s3):
    live, _conn = live_db
    root = tmp_path / "backups"
    aged, recent = ago(tool, 9), ago(tool, 2)
    for name in (aged, recent):
        make_backup(root, name)
    config = sqlite_config(tmp_path, live, target=s3["target"])
    rc, result, err = run_tool(tool, capsys, "--config", str(config), "backup")
    assert rc == 0, err
    new = result["backup"]
    assert tool.complete_backups(root) == [recent, new]
    # The same off-host copy: the new backup and the kept one S3 lacked.
    assert tool.S3(s3["target"]).complete() == [recent, new]
    assert (s3["folder"] / new / "sqlite-shop.db.gz").read_bytes() == (root / new / "sqlite-shop.db.gz").read_bytes()
    for source in ("local", "s3"):
        rc, listed, err = run_tool(tool, capsys, "--config", str(config), "list", "--source", source)
        assert rc == 0, err
        assert listed["backups"] == [recent, new]
        assert listed["contents"][new] == {"postgres": [], "sqlite": ["shop"]}
        assert listed["contents"][recent] == {"postgres": ["app"], "sqlite": []}
    # A backup whose manifest cannot be read is still listed (by its SHA256SUMS), its contents unknown.
    (root / recent / "manifest.json").unlink()
    rc, listed, err = run_tool(tool, capsys, "--config", str(config), "list")
    assert rc == 0, err
    assert listed["backups"] == [recent, new] and listed["contents"][recent] is None
    # The drill reads the copy in S3 too.
    rc, drilled, err = run_tool(tool, capsys, "--config", str(config), "drill", "--source", "s3")
    assert rc == 0, err
    assert (drilled["backup"], drilled["source"], drilled["ok"]) == (new, "s3", True)


def test_a_host_without_postgres_needs_something_to_back_up(tool, tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"backup_dir": str(tmp_path / "b"), "postgres": False, "sqlite": [],
                                  "compress": "6", "retention_days": 7, "target": {"type": "none"}}))
    rc, _result, err = run_tool(tool, capsys, "--config", str(config), "backup")
    assert rc == 1 and "nothing to back up" in err
    assert list((tmp_path / "b").iterdir()) == []
    config.write_text(json.dumps({"backup_dir": str(tmp_path / "b"), "postgres": False,
                                  "sqlite": [{"name": "gone", "path": str(tmp_path / "gone.db")}],
                                  "compress": "6", "retention_days": 7, "target": {"type": "none"}}))
    rc, _result, err = run_tool(tool, capsys, "--config", str(config), "backup")
    assert rc == 1 and f"the SQLite file {tmp_path / 'gone.db'} (gone) does not exist" in err
    # Nothing made the missing file, nor left a partial backup.
    assert not (tmp_path / "gone.db").exists() and list((tmp_path / "b").iterdir()) == []


def test_a_corrupt_sqlite_file_fails_the_backup(tool, tmp_path, capsys, live_db):
    live, conn = live_db
    conn.close()
    # An index whose definition no longer matches its entries: readable, but not intact.
    with sqlite3.connect(live) as plain:
        plain.execute("CREATE INDEX orders_batch ON orders (batch)")
        plain.execute("PRAGMA writable_schema=ON")
        plain.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX orders_batch ON orders (item)'"
                      " WHERE name = 'orders_batch'")
    config = sqlite_config(tmp_path, live)
    rc, _result, err = run_tool(tool, capsys, "--config", str(config), "backup")
    assert rc == 1 and "integrity_check of the snapshot of" in err, err
    assert list((tmp_path / "backups").iterdir()) == []


def test_gzip_levels_follow_the_dump_setting(tool):
    assert [tool.gzip_level(v) for v in ("0", "6", "9", "gzip", "gzip:3", "gzip:level=1", "none")] == [
        0, 6, 9, 6, 3, 1, 0]
