"""keel-pg-backup: dumps of a Postgres server that runs in a container, and snapshots of
SQLite files, proven by restores.

Installed by the keel.infra.postgres_backup role, configured by a JSON file it writes.

  backup   dump every database (directory format, compressed, parallel jobs in one
           snapshot) and the globals, and take a consistent snapshot of each SQLite
           file (SQLite's online backup API, while the application writes), into a
           dated folder with a manifest (per-table row counts: for Postgres counted
           in the COPY data the dump wrote while it wrote it, for SQLite in the
           snapshot, with its integrity_check) and SHA256SUMS; the folder gets its
           final name only when complete. Then
           old backups are pruned and the new one is copied off the host (SSH to a
           forced-command receiver, or S3-compatible storage; a copy an earlier
           run could not make to S3 goes with it).
  drill    restore the newest (or a named) backup into a scratch container, never
           the live one, in parallel, and each SQLite snapshot into a scratch file,
           and compare row counts and sentinel queries with the manifest.
  restore  restore a named backup into the LIVE server, and the SQLite snapshots
           into the LIVE files (through the backup API: the application may keep
           them open) (needs --confirm).
  list     show the complete backups (with --json, what each one holds).

A host without Postgres (postgres: false in the configuration) backs up its SQLite
files alone and needs no Docker.

drill, restore and list read the local backups, or with --source s3 the copies in
S3: the backup is downloaded into a scratch folder, checked against its SHA256SUMS
and removed afterwards (a host that lost its disk restores from there).

Backups of format 1 (one custom-format file per database, counts taken by a second
scan) and backups without SQLite files stay readable by drill and restore.

Any error ends the run with a non-zero exit status and a line starting with ERROR.
"""

import argparse
import contextlib
import datetime as dt
import gzip
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib
from pathlib import Path

CONFIG = "/etc/keel/pg-backup/config.json"
# Hosts may run Python 3.10 (Ubuntu 22.04), which has no datetime.UTC.
UTC = dt.timezone.utc  # noqa: UP017
NAME_RE = re.compile(r"^\d{8}T\d{6}Z$")
NAME_FMT = "%Y%m%dT%H%M%SZ"
PARTIAL = ".partial-"
# Scratch folders (.fetch-<pid>-...) in the backup folder: backups downloaded from S3, and
# the SQLite files a drill or restore unpacks.
FETCH = ".fetch-"
SUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
# Manifest format 2: a directory-format dump per database, counts taken from its data. The
# SQLite snapshots (key "sqlite") came later without a new number: a backup without the key
# simply has none, and the Postgres part is read as before.
FORMAT = 2
# Where pg_dump writes inside the database container while the host copies it out.
CONTAINER_TMP = "/tmp/keel-pg-backup"  # noqa: S108 - a path inside the container
# Data files of a directory-format dump (dump ID . dat [.gz]), the ones counted here.
DATA_FILE_RE = re.compile(r"^(\d+)\.dat(\.gz)?$")
# `pg_restore -l`: "dumpId; tableoid oid TABLE DATA schema name owner"; the oid is the table's.
TOC_DATA_RE = re.compile(r"^(\d+); \d+ (\d+) TABLE DATA ")
# A gzip level (any server), or none; other methods cannot be read with Python's standard library.
GZIP_COMPRESS_RE = re.compile(r"^(?:[0-9]|gzip(?::(?:level=)?[0-9])?|none)$")
# The tables the counts cover (as COUNT_SQL), with their oid and their parents (inheritance
# and partitions): a count(*) of a parent includes the rows of all its descendants.
TABLES_SQL = r"""SELECT c.oid, format('%I.%I', n.nspname, c.relname),
       coalesce((SELECT string_agg(i.inhparent::text, ',') FROM pg_inherits i WHERE i.inhrelid = c.oid), '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
 ORDER BY 2;
SELECT 'keel-end';
"""
COUNT_SQL = r"""SELECT format('SELECT %L, count(*) FROM %I.%I', format('%I.%I', n.nspname, c.relname),
       n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
 ORDER BY 1
\gexec
"""
# SQLite: how long this tool's connections wait for a lock the application holds, and
# the tables the counts cover (SQLite's own tables, such as sqlite_sequence, left out).
SQLITE_BUSY_SECONDS = 60
SQLITE_TABLES_SQL = r"""SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
 ORDER BY name"""


class Failure(Exception):
    """An error that ends the run; its text is what the operator reads."""


def log(msg):
    print(msg, flush=True)


def run(cmd, *, stdin=None, stdout=subprocess.PIPE, timeout=None, what=None, env=None):
    proc = subprocess.run(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=timeout, check=False,
                          env=env)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise Failure(f"{what or cmd[0]} failed (exit {proc.returncode}): {err[-2000:]}")
    return proc.stdout.decode(errors="replace") if stdout == subprocess.PIPE else ""


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------ containers
class Server:
    """A Postgres server in a container, reached with `docker exec`."""

    def __init__(self, container, superuser, exec_user=None):
        self.container = container
        self.superuser = superuser
        # The scratch server reads the backup from a root-only bind mount.
        self.exec_user = exec_user

    def exec_argv(self, *argv, interactive=False):
        opts = (["-i"] if interactive else []) + (["--user", self.exec_user] if self.exec_user else [])
        return ["docker", "exec", *opts, self.container, *argv]

    def psql_argv(self, database, *extra):
        return self.exec_argv("psql", "-X", "-At", "-q", "-v", "ON_ERROR_STOP=1", "-U", self.superuser,
                              "-d", database, *extra, interactive=True)

    def query(self, database, sql):
        out = run(self.psql_argv(database, "-F", "\t", "-c", sql), what=f"psql on {database}")
        return [line.split("\t") for line in out.splitlines() if line]

    def databases(self):
        rows = self.query("postgres", "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
                                      "ORDER BY datname")
        return [r[0] for r in rows]

    def row_counts(self, database):
        proc = subprocess.run(self.psql_argv(database, "-F", "\t"), input=COUNT_SQL.encode(),
                              capture_output=True, check=False)
        if proc.returncode != 0:
            raise Failure(f"row counts of {database} failed: {proc.stderr.decode(errors='replace').strip()}")
        return parse_counts(proc.stdout.decode())


def parse_counts(text):
    counts = {}
    for line in text.splitlines():
        if line:
            table, count = line.rsplit("\t", 1)
            counts[table] = int(count)
    return counts


def live_container(cfg):
    out = run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={cfg['project']}",
               "--filter", f"label=com.docker.compose.service={cfg['service']}", "--filter", "status=running"],
              what="docker ps")
    ids = out.split()
    if len(ids) != 1:
        raise Failure(f"the database container (compose project {cfg['project']}, service {cfg['service']}) "
                      f"is not running ({len(ids)} running containers found)")
    return ids[0]


# ------------------------------------------------------------------ backup
def complete_backups(root):
    """Names of complete backups (final name and a SHA256SUMS), oldest first."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if NAME_RE.match(p.name) and (p / SUMS).is_file())


class RowCounter:
    r"""Counts the rows of one table's COPY data (text format) as its bytes go by.

    COPY text writes one line per row and escapes a newline, tab or backslash inside a
    value (as \n, \t, \\), so every raw newline ends a row; a table without columns
    has an empty line per row. pg_dump may end the data with the end-of-data line
    \. and blank lines: no row is a lone \. (a value's backslash is doubled), so that
    line and the blank ones after it are not rows.
    """

    LIMIT = 1 << 22  # inflate in pieces of at most 4 MiB: memory stays flat
    END = re.compile(rb"\\\.\n+\Z")

    def __init__(self, gzipped):
        self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
        self.newlines = 0
        self.size = 0
        self.tail = b""

    def feed(self, chunk):
        if self.inflate is None:
            self._count(chunk)
            return
        data = chunk
        while True:
            out = self.inflate.decompress(data, self.LIMIT)
            self._count(out)
            data = self.inflate.unconsumed_tail
            if self.inflate.eof:
                if not self.inflate.unused_data:
                    return
                # gzip allows members one after the other.
                data = self.inflate.unused_data
                self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif not data and len(out) < self.LIMIT:
                return

    def _count(self, data):
        self.newlines += data.count(b"\n")
        self.size += len(data)
        self.tail = (self.tail + data)[-64:]

    @property
    def complete(self):
        return self.inflate is None or self.inflate.eof

    def rows(self):
        end = self.END.search(self.tail)
        if end is None:
            return self.newlines
        at_line_start = end.start() > 0 and self.tail[end.start() - 1:end.start()] == b"\n"
        if at_line_start or (end.start() == 0 and self.size == len(self.tail)):
            return self.newlines - end.group().count(b"\n")
        return self.newlines


class DumpCopier:
    """Copies a directory-format dump out of the container while pg_dump writes it.

    pg_dump only appends to its data files, so each poll copies what was added since the
    last one, counts its rows and hashes it on the way: the data is read once, while it
    is written, and neither the database nor the copy is read again for the manifest.
    """

    def __init__(self, src, dest):
        self.src, self.dest = src, dest
        self.files = {}  # data file name -> {offset, counter, sha}
        self.digests = {}

    def poll(self):
        moved = 0
        try:
            names = os.listdir(self.src)
        except FileNotFoundError:
            return 0
        for name in names:
            match = DATA_FILE_RE.match(name)
            if not match:
                continue
            entry = self.files.setdefault(name, {"offset": 0, "counter": RowCounter(bool(match.group(2))),
                                                 "sha": hashlib.sha256()})
            try:
                if os.stat(self.src / name).st_size <= entry["offset"]:
                    continue
            except FileNotFoundError:
                continue
            with open(self.src / name, "rb") as src, open(self.dest / name, "ab") as dest:
                src.seek(entry["offset"])
                for chunk in iter(lambda: src.read(1 << 20), b""):  # noqa: B023 - used at once
                    dest.write(chunk)
                    entry["counter"].feed(chunk)
                    entry["sha"].update(chunk)
                    entry["offset"] += len(chunk)
                    moved += len(chunk)
        return moved

    def finish(self):
        """After pg_dump ended: the rest of the data, the other files; rows per dump ID."""
        self.poll()
        rows = {}
        for name, entry in self.files.items():
            if not entry["counter"].complete:
                raise Failure(f"the compressed data file {name} of the dump is incomplete")
            self.digests[name] = entry["sha"].hexdigest()
            rows[int(DATA_FILE_RE.match(name).group(1))] = entry["counter"].rows()
        for name in os.listdir(self.src):  # toc.dat, large objects
            if name not in self.files:
                if not (self.src / name).is_file():
                    raise Failure(f"unexpected entry {name} in the dump")
                shutil.copyfile(self.src / name, self.dest / name)
                self.digests[name] = sha256(self.dest / name)
        return rows


def table_counts(tables, dumped):
    """Rows per table as count(*) sees them (a parent counts its descendants' rows too).

    tables: {oid: (name, [parent oids])}; dumped: {oid: rows in that table's own data}.
    A table without data in the dump has 0 rows.
    """
    counts = {name: 0 for name, _parents in tables.values()}
    for oid, rows in dumped.items():
        seen, todo = set(), [oid]
        while todo:
            current = todo.pop()
            if current in seen or current not in tables:
                continue
            seen.add(current)
            counts[tables[current][0]] += rows
            todo.extend(tables[current][1])
    return counts


def toc_data_entries(listing):
    """{dump ID: table oid} of the TABLE DATA entries of a `pg_restore -l` listing."""
    entries = {}
    for line in listing.splitlines():
        match = TOC_DATA_RE.match(line)
        if match:
            entries[int(match.group(1))] = int(match.group(2))
    return entries


def dump_jobs(cfg, tables):
    """pg_dump --jobs: the configured number, or the host's CPUs; never more than tables."""
    jobs = int(cfg.get("jobs") or 0) or os.cpu_count() or 1
    return max(1, min(jobs, len(tables)))


def container_root(container):
    """The container's file system as the host (root) sees it."""
    pid = run(["docker", "inspect", "--format", "{{.State.Pid}}", container], what="docker inspect").strip()
    root = Path(f"/proc/{pid}/root")
    if not pid.isdigit() or pid == "0" or not os.access(root / "tmp", os.R_OK):
        raise Failure(f"cannot read the file system of container {container} (run as root on its docker host)")
    return root


def read_tables(session, database):
    """{oid: (name, [parent oids])} from TABLES_SQL's output in the snapshot session."""
    tables = {}
    for line in iter(session.stdout.readline, ""):
        if line.strip() == "keel-end":
            return tables
        oid, name, parents = line.rstrip("\n").split("\t")
        tables[int(oid)] = (name, [int(p) for p in parents.split(",") if p])
    raise Failure(f"could not list the tables of {database}: {session.stderr.read()[-1000:]}")


def dump_database(server, fs_root, database, dest, cfg, tmp):
    """Directory-format pg_dump with parallel jobs, all in one exported snapshot.

    pg_dump writes into `tmp` inside the container; the host copies each data file out
    while it grows and counts its rows (DumpCopier). The tables, their oids and parents
    come from the catalog in the same snapshot; nothing scans the data a second time.
    """
    session = subprocess.Popen(server.psql_argv(database, "-F", "\t"), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        session.stdin.write("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSELECT pg_export_snapshot();\n"
                            + TABLES_SQL)
        session.stdin.flush()
        snapshot = session.stdout.readline().strip()
        if not re.match(r"^[0-9A-F-]+$", snapshot):
            raise Failure(f"could not export a snapshot of {database}: {session.stderr.read()[-1000:]}")
        tables = read_tables(session, database)
        jobs = dump_jobs(cfg, tables)
        dest.mkdir(mode=0o700)
        copier = DumpCopier(fs_root / tmp.lstrip("/"), dest)
        with tempfile.TemporaryFile() as err:
            dump = subprocess.Popen(
                server.exec_argv("pg_dump", "-U", server.superuser, "-d", database, "--format=directory",
                                 f"--jobs={jobs}", f"--compress={cfg['compress']}", f"--snapshot={snapshot}",
                                 "-f", tmp),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
            try:
                while dump.poll() is None:
                    if not copier.poll():
                        time.sleep(0.05)
            finally:
                if dump.poll() is None:
                    dump.kill()
                dump.wait()
            if dump.returncode != 0:
                err.seek(0)
                raise Failure(f"pg_dump of {database} failed (exit {dump.returncode}): "
                              f"{err.read().decode(errors='replace').strip()[-2000:]}")
        rows = copier.finish()
        entries = toc_data_entries(run(server.exec_argv("pg_restore", "-l", tmp), what=f"pg_restore -l of {database}"))
        missing = sorted(set(entries) - set(rows))
        if missing:
            raise Failure(f"the dump of {database} lists data without a data file: {missing}")
        session.stdin.write("COMMIT;\n")
        _out, errors = session.communicate(timeout=600)
        if session.returncode != 0:
            raise Failure(f"the snapshot session of {database} failed: {errors.strip()[-1000:]}")
        dumped = {oid: rows[dump_id] for dump_id, oid in entries.items()}
        return table_counts(tables, dumped), jobs, copier.digests
    finally:
        if session.poll() is None:
            session.kill()
            session.wait()
        subprocess.run(server.exec_argv("rm", "-rf", tmp), capture_output=True, check=False)


# ------------------------------------------------------------------ SQLite files
def sqlite_connect(path, read_only=False):
    """A connection to a SQLite file that waits up to SQLITE_BUSY_SECONDS for the application's locks."""
    if read_only:
        uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
        return contextlib.closing(sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_SECONDS))
    return contextlib.closing(sqlite3.connect(str(path), timeout=SQLITE_BUSY_SECONDS))


def sqlite_check(path):
    """(PRAGMA integrity_check's result, rows per table) of a SQLite file, read-only."""
    with sqlite_connect(path, read_only=True) as conn:
        integrity = "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check"))
        tables = [row[0] for row in conn.execute(SQLITE_TABLES_SQL)]
        counts = {}
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            counts[table] = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]  # noqa: S608 - quoted
    return integrity, counts


def gzip_level(compress):
    """The gzip level of a compress value GZIP_COMPRESS_RE accepts (pg_dump's): 0 for none."""
    text = str(compress)
    if text in ("gzip", "none"):
        return 6 if text == "gzip" else 0
    return int(text[-1])


def snapshot_sqlite(entry, work, level):
    """A consistent copy of the live SQLite file entry["path"] in `work`; (file name, manifest entry).

    SQLite's online backup API copies the database in one step, as one read transaction
    sees it, while the application goes on: in WAL mode its writers do not wait; in
    rollback-journal mode they wait for the copy, within their busy timeout. The live file
    is opened read-only. The copy is checked (integrity_check) and counted, then gzipped at
    the level of the Postgres dumps (a database file holds free space and repeated page
    layouts that compress well; the drill unpacks it into a scratch file anyway).
    """
    name, live = entry["name"], Path(entry["path"])
    if not live.is_file():
        raise Failure(f"the SQLite file {live} ({name}) does not exist")
    start = time.monotonic()
    stat = live.stat()
    copy = work / f"sqlite-{name}.db"
    with sqlite_connect(live, read_only=True) as src, sqlite_connect(copy) as dest:
        src.backup(dest)
        # A file of the backup: opened later it must not leave -wal or -shm files beside it.
        dest.execute("PRAGMA journal_mode=DELETE")
        version = sqlite3.sqlite_version
    integrity, counts = sqlite_check(copy)
    if integrity != "ok":
        raise Failure(f"integrity_check of the snapshot of {live} ({name}) failed: {integrity[:2000]}")
    fname = copy.name
    if level:
        fname += ".gz"
        with open(copy, "rb") as raw, gzip.open(work / fname, "wb", compresslevel=level) as packed:
            shutil.copyfileobj(raw, packed, 1 << 20)
        copy.unlink()
    info = {"file": fname, "path": str(live), "tables": counts, "integrity_check": integrity,
            "size": (work / fname).stat().st_size, "seconds": round(time.monotonic() - start, 1),
            "sqlite_version": version, "uid": stat.st_uid, "gid": stat.st_gid, "mode": stat.st_mode & 0o7777}
    log(f"snapshot of {name} ({live}): {len(counts)} tables, {sum(counts.values())} rows, {info['size']} bytes")
    return fname, info


def unpack_sqlite(folder, info, dest):
    """The snapshot of a backup as a plain SQLite file `dest` (never a live file)."""
    opener = gzip.open if info["file"].endswith(".gz") else open
    with opener(folder / info["file"], "rb") as packed, open(dest, "wb") as out:
        shutil.copyfileobj(packed, out, 1 << 20)


# ------------------------------------------------------------------ the backup run
def dump_postgres(cfg, work, name, manifest, digests, skip):
    """The globals and a dump of each database into `work`; `skip`: names the SQLite files take."""
    server = Server(live_container(cfg), cfg["superuser"])
    present = server.databases()
    wanted = cfg["databases"] or present
    missing = sorted(set(wanted) - set(present))
    if missing:
        raise Failure(f"database(s) {', '.join(missing)} do not exist on the server (it has: {', '.join(present)})")
    clash = sorted(set(wanted) & set(skip))
    if clash:
        raise Failure(f"{', '.join(clash)}: both a Postgres database and a SQLite file of this name "
                      "(postgres_backup_sqlite_files): rename the SQLite entry")
    fs_root = container_root(server.container)
    # What an interrupted run left in the container (the dump is copied out as it is written).
    subprocess.run(server.exec_argv("sh", "-c", f"rm -rf {CONTAINER_TMP}-*"), capture_output=True, check=False)
    manifest["server_version"] = server.query("postgres", "SHOW server_version")[0][0]
    with open(work / "globals.sql", "wb") as out:
        run(server.exec_argv("pg_dumpall", "-U", server.superuser, "--globals-only"), stdout=out,
            what="pg_dumpall --globals-only")
    manifest["globals"] = "globals.sql"
    digests["globals.sql"] = sha256(work / "globals.sql")
    for index, database in enumerate(wanted):
        fname = f"db-{database}"
        t0 = time.monotonic()
        counts, jobs, files = dump_database(server, fs_root, database, work / fname, cfg,
                                            f"{CONTAINER_TMP}-{name}-{index}")
        digests.update({f"{fname}/{f}": digest for f, digest in files.items()})
        size = sum(p.stat().st_size for p in (work / fname).iterdir())
        manifest["databases"][database] = {"file": fname, "format": "directory", "jobs": jobs, "size": size,
                                           "seconds": round(time.monotonic() - t0, 1), "tables": counts}
        log(f"dumped {database}: {len(counts)} tables, {sum(counts.values())} rows, {size} bytes, "
            f"{jobs} job(s)")


def backup(cfg):
    start = time.monotonic()
    root = Path(cfg["backup_dir"])
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in root.glob(PARTIAL + "*"):
        log(f"removing an unfinished backup of an earlier run: {stale.name}")
        shutil.rmtree(stale)
    sqlite_files = cfg.get("sqlite", [])
    if not GZIP_COMPRESS_RE.match(str(cfg["compress"])):
        raise Failure(f"compress {cfg['compress']!r}: the row counts are read from gzip or uncompressed data; "
                      "set a gzip level 0-9 (postgres_backup_compress)")
    name = dt.datetime.now(UTC).strftime(NAME_FMT)
    if (root / name).exists():
        raise Failure(f"a backup named {name} already exists")
    work = root / (PARTIAL + name)
    work.mkdir(mode=0o700)
    try:
        manifest = {"name": name, "format": FORMAT, "created": dt.datetime.now(UTC).isoformat(),
                    "host": os.uname().nodename, "databases": {}, "sqlite": {}}
        digests = {}
        if cfg.get("postgres", True):
            dump_postgres(cfg, work, name, manifest, digests, [entry["name"] for entry in sqlite_files])
        for entry in sqlite_files:
            fname, manifest["sqlite"][entry["name"]] = snapshot_sqlite(entry, work, gzip_level(cfg["compress"]))
            digests[fname] = sha256(work / fname)
        if not manifest["databases"] and not manifest["sqlite"]:
            raise Failure("nothing to back up: no Postgres server (postgres: false) and no SQLite file")
        manifest["seconds"] = round(time.monotonic() - start, 1)
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        digests[MANIFEST] = sha256(work / MANIFEST)
        # The data files of the dumps were hashed while they were copied, not read again.
        sums = "".join(f"{digests[f]}  {f}\n" for f in sorted(digests))
        (work / (SUMS + ".tmp")).write_text(sums)
        os.replace(work / (SUMS + ".tmp"), work / SUMS)
        os.sync()
        os.rename(work, root / name)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log(f"backup {name} complete in {root} ({time.monotonic() - start:.1f}s)")
    prune_local(root, cfg["retention_days"], keep=name)
    copy_off_host(cfg, root, name)
    log(f"backup {name} done in {time.monotonic() - start:.1f}s")
    return {"backup": name, "seconds": round(time.monotonic() - start, 1)}


def cutoff_name(days):
    return (dt.datetime.now(UTC) - dt.timedelta(days=days)).strftime(NAME_FMT)


def prune_local(root, days, keep):
    cutoff = cutoff_name(days)
    for path in sorted(root.iterdir()):
        name = path.name
        if NAME_RE.match(name) and name < cutoff and name != keep:
            log(f"retention ({days} days): removing local backup {name}")
            shutil.rmtree(path)


# ------------------------------------------------------------------ off-host copies
def copy_off_host(cfg, root, name):
    target = cfg["target"]
    if target["type"] == "ssh":
        ssh = ["ssh", "-i", target["key"], "-p", str(target["port"]), "-o", "BatchMode=yes",
               "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
               "-o", f"UserKnownHostsFile={target['known_hosts']}", "-o", "ConnectTimeout=20",
               "-o", "ServerAliveInterval=30", f"{target['user']}@{target['host']}", f"put {name}"]
        tar = subprocess.Popen(["tar", "-C", str(root), "-cf", "-", name], stdout=subprocess.PIPE)
        proc = subprocess.run(ssh, stdin=tar.stdout, capture_output=True, check=False)
        tar.stdout.close()
        tar_rc = tar.wait()
        if tar_rc != 0 or proc.returncode != 0:
            raise Failure(f"copy of {name} to {target['host']} failed (tar exit {tar_rc}, ssh exit "
                          f"{proc.returncode}): {proc.stderr.decode(errors='replace').strip()[-1000:]}")
        for line in proc.stdout.decode(errors="replace").splitlines():
            log(f"target {target['host']}: {line}")
    elif target["type"] == "s3":
        copy_to_s3(target, root, name, cfg["retention_days"])


def read_env_file(path):
    """The KEY=VALUE lines of `path` as a dict: no quoting, a value is the rest of its line."""
    env = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise Failure(f"{path}, line {number}: not a KEY=VALUE line")
        env[key.strip()] = value
    return env


class S3:
    """This host's copies in S3-compatible storage, through rclone's on-the-fly S3 remote.

    One folder per backup under bucket/prefix; a copy is complete when its SHA256SUMS
    is there (uploaded last). rclone's options (endpoint, keys) come from the root-only
    file the role writes, read here and given to rclone alone: the keys are on no
    command line and in no other program's environment, and a drill or restore run by
    a playbook finds them as the systemd unit does.
    """

    def __init__(self, target):
        self.base = f":s3:{target['bucket']}/{target['prefix'].strip('/')}".rstrip("/")
        # No rclone.conf: the remote is described by the variables alone.
        self.env = {**os.environ, "RCLONE_CONFIG": "/dev/null", **read_env_file(target["env_file"])}

    def rclone(self, *args, what):
        return run(["rclone", *args], env=self.env, what=f"rclone {what}")

    def folders(self):
        """Names of the backup folders in S3, complete or not."""
        entries = self.rclone("lsf", "--dirs-only", self.base, what="listing").split()
        return sorted(e.rstrip("/") for e in entries if NAME_RE.match(e.rstrip("/")))

    def complete(self):
        """Names of the complete copies (their SHA256SUMS is there), oldest first."""
        found = self.rclone("lsf", "--files-only", "--max-depth", "2", "--include", f"/*/{SUMS}", self.base,
                            what="listing").split()
        return sorted(entry.split("/")[0] for entry in found if NAME_RE.match(entry.split("/")[0]))

    def upload(self, root, name):
        dest = f"{self.base}/{name}"
        self.rclone("copy", "--exclude", f"/{SUMS}", str(root / name), dest, what=f"copy of {name}")
        self.rclone("check", "--one-way", "--exclude", f"/{SUMS}", str(root / name), dest, what=f"check of {name}")
        # Last, once the rest is checked: from now on the copy counts as complete.
        self.rclone("copyto", str(root / name / SUMS), f"{dest}/{SUMS}", what=f"copy of {name}/{SUMS}")

    def download(self, name, dest):
        self.rclone("copy", f"{self.base}/{name}", str(dest), what=f"download of {name}")

    def manifest(self, name):
        return json.loads(self.rclone("cat", f"{self.base}/{name}/{MANIFEST}", what=f"reading {name}/{MANIFEST}"))

    def remove(self, name):
        self.rclone("purge", f"{self.base}/{name}", what=f"removal of {name}")


def copy_to_s3(target, root, name, days):
    """Upload the new backup, then every kept local backup S3 lacks (newest first); prune the aged copies.

    A run whose upload failed (the storage was down) fails its unit; its backup is
    complete locally and goes up with the next run, while retention keeps it.
    """
    s3 = S3(target)
    cutoff = cutoff_name(days)
    there = set(s3.complete())
    missed = [n for n in complete_backups(root) if n not in there and n >= cutoff and n != name]
    for current in [name, *reversed(missed)]:
        s3.upload(root, current)
        log(f"s3: {current} copied to {s3.base}" + (" (missed by an earlier run)" if current != name else ""))
    for old in s3.folders():
        if old < cutoff and old != name:
            log(f"retention ({days} days): removing {s3.base}/{old}")
            s3.remove(old)


# ------------------------------------------------------------------ restores
def choose(names, wanted, where):
    """`wanted` among the complete backups `names` (oldest first); `latest` or empty: the newest."""
    if not names:
        raise Failure(f"no complete backup in {where}")
    name = names[-1] if wanted in (None, "", "latest") else wanted
    if name not in names:
        raise Failure(f"no complete backup named {name} in {where} (there are: {', '.join(names)})")
    return name


def pick_backup(root, wanted):
    return choose(complete_backups(root), wanted, root)


def remove_stale_fetches(root):
    """Scratch folders that a drill or restore killed before its end left behind."""
    for folder in root.glob(FETCH + "*"):
        pid = folder.name[len(FETCH):].split("-", 1)[0]
        if not (pid.isdigit() and Path(f"/proc/{pid}").exists()):
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def scratch_folder(root):
    """A root-only scratch folder beside the local backups (same disk), removed afterwards."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    remove_stale_fetches(root)
    scratch = Path(tempfile.mkdtemp(prefix=f"{FETCH}{os.getpid()}-", dir=root))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def s3_target(cfg):
    if cfg["target"]["type"] != "s3":
        raise Failure(f"--source s3: this host copies its backups to {cfg['target']['type']}, not to S3 "
                      "(postgres_backup_target)")
    return cfg["target"]


@contextlib.contextmanager
def backup_folder(cfg, wanted, source):
    """(name, folder, manifest) of the backup a drill or restore reads, checked against its SHA256SUMS.

    source `local`: a complete backup of the backup folder. `s3`: a complete copy in
    S3, downloaded into a scratch folder beside the local backups (root only, same
    disk) and removed when the caller is done.
    """
    root = Path(cfg["backup_dir"])
    if source == "local":
        name = pick_backup(root, wanted)
        yield name, root / name, verify_sums(root / name)
        return
    s3 = S3(s3_target(cfg))
    name = choose(s3.complete(), wanted, s3.base)
    with scratch_folder(root) as scratch:
        t0 = time.monotonic()
        s3.download(name, scratch / name)
        manifest = verify_sums(scratch / name)
        log(f"s3: backup {name} downloaded from {s3.base} and checked in {time.monotonic() - t0:.1f}s")
        yield name, scratch / name, manifest


def verify_sums(folder):
    if not (folder / SUMS).is_file():
        raise Failure(f"{folder} has no {SUMS}: not a complete backup")
    for line in (folder / SUMS).read_text().splitlines():
        digest, fname = line.split("  ", 1)
        if not (folder / fname).is_file():
            raise Failure(f"missing file: {folder / fname} (listed in {SUMS})")
        if sha256(folder / fname) != digest:
            raise Failure(f"checksum mismatch: {folder / fname}")
    return json.loads((folder / MANIFEST).read_text())


# The scratch server is thrown away after the drill: it needs no durability, and with
# wal_level=minimal a parallel pg_restore writes no WAL for the tables it creates
# (it truncates them in the COPY's transaction). What the drill compares is unchanged.
SCRATCH_SETTINGS = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                    "-c", "wal_level=minimal", "-c", "max_wal_senders=0", "-c", "max_wal_size=4GB",
                    "-c", "checkpoint_timeout=30min", "-c", "maintenance_work_mem=256MB"]


def wait_ready(server, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = subprocess.run(server.exec_argv("pg_isready", "-q", "-h", "127.0.0.1", "-U", server.superuser),
                               capture_output=True, check=False)
        if probe.returncode == 0:
            return
        time.sleep(0.2)
    raise Failure(f"the scratch server did not become ready within {timeout}s")


def into(database, exists):
    """pg_restore's target: the database as it is (its objects replaced), or one the dump creates."""
    return ["--clean", "--if-exists", "-d", database] if exists else ["--create", "-d", "postgres"]


def restore_database(server, database, path_in_container, jobs, exists):
    argv = ["pg_restore", "-U", server.superuser, "--exit-on-error", f"--jobs={jobs}", *into(database, exists)]
    run(server.exec_argv(*argv, path_in_container), what=f"pg_restore of {database}")


def count_problems(database, wanted, got):
    """What differs between the manifest's row counts and the restored copy's."""
    return [f"{database}: {table}: manifest {wanted.get(table)} rows, restored {got.get(table)}"
            for table in sorted(set(wanted) | set(got)) if wanted.get(table) != got.get(table)]


def sentinel_problem(check, rows):
    """None when the sentinel query found something (not false, 0 or empty), else what the drill reports."""
    if not rows or rows[0][0] in ("", "f", "0", None, 0):
        return f"sentinel check on {check['database']} found nothing: {check['query']}"
    log(f"drill: sentinel on {check['database']}: {rows[0][0]}")
    return None


def drill(cfg, wanted, source):
    start = time.monotonic()
    # The scratch server's image is needed only for a backup with Postgres dumps; the
    # live container is asked before any download, as a host with Postgres has one.
    image = cfg["drill"].get("image") or (run(
        ["docker", "inspect", "--format", "{{.Config.Image}}", live_container(cfg)], what="docker inspect").strip()
        if cfg.get("postgres", True) else "")
    with backup_folder(cfg, wanted, source) as (name, folder, manifest):
        sqlite = manifest.get("sqlite", {})
        # A backup made before a SQLite file was configured has no snapshot of it: its
        # sentinels are for the backups that do (every backup since, or the run failed).
        configured = {entry["name"] for entry in cfg.get("sqlite", [])}
        for check in cfg["drill"]["checks"]:
            if check["database"] in configured - set(sqlite):
                log(f"drill: sentinel on {check['database']} left out: backup {name} has no snapshot of it")
        checks = [check for check in cfg["drill"]["checks"] if check["database"] not in set(sqlite) | configured]
        problems = drill_sqlite(cfg, folder, manifest)
        if manifest["databases"]:
            if not image:
                raise Failure(f"backup {name} holds Postgres dumps and this host runs no Postgres: set "
                              "postgres_backup_drill_image for the scratch server")
            problems += drill_in_scratch(cfg, name, folder, manifest, image, checks)
        else:
            problems += [f"sentinel check on {check['database']}: backup {name} holds no database of that name"
                         for check in checks]
    seconds = round(time.monotonic() - start, 1)
    result = {"backup": name, "source": source, "seconds": seconds,
              "databases": sorted([*manifest["databases"], *sqlite]), "ok": not problems, "problems": problems}
    status = Path(cfg["status_dir"])
    status.mkdir(parents=True, exist_ok=True)
    (status / "last-drill.json").write_text(json.dumps(result, indent=2) + "\n")
    if problems:
        raise Failure(f"RESTORE DRILL FAILED for backup {name} ({source}) after {seconds}s: " + "; ".join(problems))
    log(f"drill: backup {name} ({source}) restored and matches its manifest in {seconds}s")
    return result


def drill_sqlite(cfg, folder, manifest):
    """Each SQLite snapshot of the backup in `folder` unpacked into a scratch file (never the live one),
    checked and counted; what differs from its manifest, and the sentinel checks on its names."""
    problems = []
    if not manifest.get("sqlite"):
        return problems
    with scratch_folder(Path(cfg["backup_dir"])) as scratch:
        for database, info in sorted(manifest["sqlite"].items()):
            copy = scratch / f"{database}.db"
            unpack_sqlite(folder, info, copy)
            integrity, got = sqlite_check(copy)
            if integrity != "ok":
                problems.append(f"{database}: integrity_check: {integrity[:1000]}")
            problems += count_problems(database, info["tables"], got)
            log(f"drill: {database} (SQLite): {len(got)} tables, {sum(got.values())} rows restored")
            for check in cfg["drill"]["checks"]:
                if check["database"] != database:
                    continue
                try:
                    with sqlite_connect(copy, read_only=True) as conn:
                        rows = conn.execute(check["query"]).fetchmany(1)
                except sqlite3.Error as exc:
                    problems.append(f"sentinel check on {database} failed: {exc}: {check['query']}")
                    continue
                problem = sentinel_problem(check, rows)
                if problem:
                    problems.append(problem)
    return problems


def drill_in_scratch(cfg, name, folder, manifest, image, checks):
    """Restore the backup in `folder` into a scratch server from `image`; what differs from its manifest."""
    scratch = f"keel-pg-drill-{os.getpid()}"
    log(f"drill: restoring backup {name} into scratch container {scratch} ({image})")
    run(["docker", "run", "-d", "--rm", "--name", scratch, "--network", "none", "--label", "org.keel.pg-drill=1",
         "--shm-size", "256m", "-e", f"POSTGRES_USER={cfg['superuser']}",
         "-e", f"POSTGRES_PASSWORD={secrets.token_hex(16)}", "-e", "POSTGRES_INITDB_ARGS=--no-sync",
         "-v", f"{folder}:/backup:ro", image, *SCRATCH_SETTINGS], what="docker run (scratch server)")
    problems = []
    try:
        server = Server(scratch, cfg["superuser"], exec_user="0")
        wait_ready(server, cfg["drill"]["timeout"])
        # Not stopping at errors: the superuser exists already, every other line must pass.
        proc = subprocess.run(server.exec_argv("psql", "-X", "-q", "-U", server.superuser, "-d", "postgres",
                                               "-f", "/backup/globals.sql"), capture_output=True, check=False)
        for line in proc.stderr.decode(errors="replace").splitlines():
            if "ERROR" in line and f'role "{cfg["superuser"]}" already exists' not in line:
                problems.append(f"globals: {line.strip()}")
        present = set(server.databases())
        for database, info in sorted(manifest["databases"].items()):
            restore_database(server, database, f"/backup/{info['file']}", cfg["restore_jobs"],
                             database in present)
            got = server.row_counts(database)
            problems += count_problems(database, info["tables"], got)
            log(f"drill: {database}: {len(got)} tables, {sum(got.values())} rows restored")
        for check in checks:
            problem = sentinel_problem(check, server.query(check["database"], check["query"]))
            if problem:
                problems.append(problem)
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", scratch], capture_output=True, check=False)
    return problems


def restore_directory(server, folder, fname, database, jobs, exists):
    """A directory-format dump goes into the container (a tar stream), then pg_restore --jobs reads it there."""
    tmp = f"{CONTAINER_TMP}-restore-{os.getpid()}"
    try:
        tar = subprocess.Popen(["tar", "-C", str(folder), "-cf", "-", fname], stdout=subprocess.PIPE)
        proc = subprocess.run(server.exec_argv("sh", "-c", 'rm -rf "$1" && mkdir -p "$1" && tar -xf - -C "$1"', "sh",
                                               tmp, interactive=True),
                              stdin=tar.stdout, capture_output=True, check=False)
        tar.stdout.close()
        if tar.wait() != 0 or proc.returncode != 0:
            raise Failure(f"copying the dump of {database} into the container failed: "
                          f"{proc.stderr.decode(errors='replace').strip()[-1000:]}")
        restore_database(server, database, f"{tmp}/{fname}", jobs, exists)
    finally:
        subprocess.run(server.exec_argv("rm", "-rf", tmp), capture_output=True, check=False)


def restore_sqlite(cfg, folder, name, database, info):
    """The snapshot back into the LIVE file, through the backup API into the live database.

    The application may keep the file open: the copy takes the database's write lock
    (waiting up to SQLITE_BUSY_SECONDS for the application's), and its connections see the
    restored data at their next transaction. The live file's journal mode (WAL) stays. A
    file that is gone is made anew with the owner and mode it had at the backup.
    """
    paths = {entry["name"]: entry["path"] for entry in cfg.get("sqlite", [])}
    live = Path(paths.get(database, info["path"]))
    log(f"restore: {database} from backup {name} into the live SQLite file {live}")
    with scratch_folder(Path(cfg["backup_dir"])) as scratch:
        copy = scratch / f"{database}.db"
        unpack_sqlite(folder, info, copy)
        created = not live.exists()
        with sqlite_connect(copy, read_only=True) as src, sqlite_connect(live) as dest:
            src.backup(dest)
    if created:
        os.chown(live, info["uid"], info["gid"])
        os.chmod(live, info["mode"])
    integrity, got = sqlite_check(live)
    problems = count_problems(database, info["tables"], got)
    if integrity != "ok" or problems:
        raise Failure(f"the restored SQLite file {live} does not match backup {name} (has the application "
                      f"written since?): integrity_check {integrity[:500]}; " + "; ".join(problems))
    log(f"restore: {database}: {len(got)} tables, {sum(got.values())} rows, as in the manifest")


def restore(cfg, wanted, databases, confirm, source):
    if not confirm:
        raise Failure("restore overwrites the live databases: repeat with --confirm")
    start = time.monotonic()
    with backup_folder(cfg, wanted, source) as (name, folder, manifest):
        sqlite = manifest.get("sqlite", {})
        chosen = databases or sorted(manifest["databases"]) + sorted(sqlite)
        unknown = sorted(set(chosen) - set(manifest["databases"]) - set(sqlite))
        if unknown:
            raise Failure(f"backup {name} has no dump of {', '.join(unknown)}")
        for database in [d for d in chosen if d in sqlite]:
            restore_sqlite(cfg, folder, name, database, sqlite[database])
        chosen_pg = [d for d in chosen if d not in sqlite]
        if chosen_pg:
            server = Server(live_container(cfg), cfg["superuser"])
            present = set(server.databases())
        for database in chosen_pg:
            info = manifest["databases"][database]
            log(f"restore: {database} from backup {name} ({source}) into the live server")
            if info.get("format") == "directory":
                restore_directory(server, folder, info["file"], database, cfg["restore_jobs"], database in present)
                continue
            # Format 1: one custom-format file, streamed to pg_restore.
            argv = ["pg_restore", "-U", server.superuser, "--exit-on-error", *into(database, database in present)]
            with open(folder / info["file"], "rb") as dump:
                run(server.exec_argv(*argv, interactive=True), stdin=dump, what=f"pg_restore of {database}")
    seconds = round(time.monotonic() - start, 1)
    log(f"restore: backup {name} ({source}) restored in {seconds}s")
    return {"backup": name, "source": source, "databases": chosen, "seconds": seconds}


def last_drill(cfg):
    """The result of the last drill (last-drill.json), or None when none ran."""
    if not cfg.get("status_dir"):
        return None
    try:
        return json.loads((Path(cfg["status_dir"]) / "last-drill.json").read_text())
    except (OSError, ValueError):
        return None


def holds(read_manifest):
    """What a backup holds, its Postgres databases and SQLite files by name; None where its manifest
    cannot be read (the listing itself goes by SHA256SUMS, as ever, and does not fail for it)."""
    try:
        manifest = read_manifest()
    except (Failure, OSError, ValueError):
        return None
    return {"postgres": sorted(manifest.get("databases", {})), "sqlite": sorted(manifest.get("sqlite", {}))}


def list_backups(cfg, source):
    if source == "s3":
        s3 = S3(s3_target(cfg))
        names = s3.complete()
        contents = {name: holds(lambda name=name: s3.manifest(name)) for name in names}
    else:
        root = Path(cfg["backup_dir"])
        names = complete_backups(root)
        contents = {name: holds(lambda name=name: json.loads((root / name / MANIFEST).read_text())) for name in names}
    log("\n".join(names))
    return {"backups": names, "source": source, "last_drill": last_drill(cfg), "contents": contents}


# ------------------------------------------------------------------ main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line at the end")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("backup")
    sources = {"choices": ["local", "s3"], "help": "the local backups, or the copies in S3 (target s3)"}
    p_list = sub.add_parser("list")
    p_list.add_argument("--source", default="local", **sources)
    p_drill = sub.add_parser("drill")
    p_drill.add_argument("--backup", default="latest")
    p_drill.add_argument("--source", **sources)
    p_restore = sub.add_parser("restore")
    p_restore.add_argument("--backup", required=True)
    p_restore.add_argument("--database", action="append", default=[])
    p_restore.add_argument("--confirm", action="store_true")
    p_restore.add_argument("--source", default="local", **sources)
    args = parser.parse_args(argv)
    os.umask(0o077)
    try:
        cfg = json.loads(Path(args.config).read_text())
        if args.action == "backup":
            result = backup(cfg)
        elif args.action == "drill":
            # The drill timer runs without --source: the configured one (postgres_backup_drill_source).
            result = drill(cfg, args.backup, args.source or cfg["drill"].get("source", "local"))
        elif args.action == "restore":
            result = restore(cfg, args.backup, args.database, args.confirm, args.source)
        else:
            result = list_backups(cfg, args.source)
    except (Failure, OSError, ValueError, KeyError, subprocess.SubprocessError, sqlite3.Error) as exc:
        print(f"ERROR: {exc}", file=sys.stderr, flush=True)
        return 1
    if args.json:
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
