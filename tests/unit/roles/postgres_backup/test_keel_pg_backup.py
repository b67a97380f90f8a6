"""Unit tests of keel-pg-backup (roles/postgres_backup/files/keel_pg_backup.py): the parts that need no server."""

import datetime as dt
import gzip
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
