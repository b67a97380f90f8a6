"""keel-pg-backup: dumps of a Postgres server that runs in a container, proven by restores.

Installed by the keel.infra.postgres_backup role, configured by a JSON file it writes.

  backup   dump every database (custom format, compressed) and the globals into a
           dated folder with a manifest (per-table row counts taken in the same
           snapshot as the dump) and SHA256SUMS; the folder gets its final name only
           when complete. Then old backups are pruned and the new one is copied off
           the host (SSH to a forced-command receiver, or S3-compatible storage).
  drill    restore the newest (or a named) backup into a scratch container, never
           the live one, and compare row counts and sentinel queries with the manifest.
  restore  restore a named backup into the LIVE server (needs --confirm).
  list     show the complete local backups.

Any error ends the run with a non-zero exit status and a line starting with ERROR.
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

CONFIG = "/etc/keel/pg-backup/config.json"
# Hosts may run Python 3.10 (Ubuntu 22.04), which has no datetime.UTC.
UTC = dt.timezone.utc  # noqa: UP017
NAME_RE = re.compile(r"^\d{8}T\d{6}Z$")
NAME_FMT = "%Y%m%dT%H%M%SZ"
PARTIAL = ".partial-"
SUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
COUNT_SQL = r"""SELECT format('SELECT %L, count(*) FROM %I.%I', format('%I.%I', n.nspname, c.relname),
       n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
 ORDER BY 1
\gexec
"""


class Failure(Exception):
    """An error that ends the run; its text is what the operator reads."""


def log(msg):
    print(msg, flush=True)


def run(cmd, *, stdin=None, stdout=subprocess.PIPE, timeout=None, what=None):
    proc = subprocess.run(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=timeout, check=False)
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


def dump_database(server, database, dest, compress):
    """pg_dump in the same snapshot as the row counts, so that the drill can compare exactly."""
    session = subprocess.Popen(server.psql_argv(database, "-F", "\t"), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        session.stdin.write("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSELECT pg_export_snapshot();\n")
        session.stdin.flush()
        snapshot = session.stdout.readline().strip()
        if not re.match(r"^[0-9A-F-]+$", snapshot):
            raise Failure(f"could not export a snapshot of {database}: {session.stderr.read()[-1000:]}")
        with open(dest, "wb") as out:
            run(server.exec_argv("pg_dump", "-U", server.superuser, "-d", database, "--format=custom",
                                 f"--compress={compress}", f"--snapshot={snapshot}"),
                stdout=out, what=f"pg_dump of {database}")
        session.stdin.write(COUNT_SQL + "COMMIT;\n")
        out, err = session.communicate(timeout=3600)
        if session.returncode != 0:
            raise Failure(f"row counts of {database} failed: {err.strip()[-1000:]}")
        return parse_counts(out)
    finally:
        if session.poll() is None:
            session.kill()
            session.wait()


def backup(cfg):
    start = time.monotonic()
    root = Path(cfg["backup_dir"])
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in root.glob(PARTIAL + "*"):
        log(f"removing an unfinished backup of an earlier run: {stale.name}")
        shutil.rmtree(stale)
    server = Server(live_container(cfg), cfg["superuser"])
    present = server.databases()
    wanted = cfg["databases"] or present
    missing = sorted(set(wanted) - set(present))
    if missing:
        raise Failure(f"database(s) {', '.join(missing)} do not exist on the server (it has: {', '.join(present)})")
    name = dt.datetime.now(UTC).strftime(NAME_FMT)
    if (root / name).exists():
        raise Failure(f"a backup named {name} already exists")
    work = root / (PARTIAL + name)
    work.mkdir(mode=0o700)
    try:
        manifest = {"name": name, "format": 1, "created": dt.datetime.now(UTC).isoformat(),
                    "host": os.uname().nodename, "databases": {}}
        manifest["server_version"] = server.query("postgres", "SHOW server_version")[0][0]
        with open(work / "globals.sql", "wb") as out:
            run(server.exec_argv("pg_dumpall", "-U", server.superuser, "--globals-only"), stdout=out,
                what="pg_dumpall --globals-only")
        manifest["globals"] = "globals.sql"
        for database in wanted:
            fname = f"db-{database}.dump"
            t0 = time.monotonic()
            counts = dump_database(server, database, work / fname, cfg["compress"])
            manifest["databases"][database] = {"file": fname, "size": (work / fname).stat().st_size,
                                               "seconds": round(time.monotonic() - t0, 1), "tables": counts}
            log(f"dumped {database}: {len(counts)} tables, {sum(counts.values())} rows, "
                f"{(work / fname).stat().st_size} bytes")
        manifest["seconds"] = round(time.monotonic() - start, 1)
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        files = sorted(p.name for p in work.iterdir())
        sums = "".join(f"{sha256(work / f)}  {f}\n" for f in files)
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


def copy_to_s3(target, root, name, days):
    """Upload with rclone (S3-compatible endpoint); SHA256SUMS last marks the copy complete."""
    base = f":s3:{target['bucket']}/{target['prefix'].strip('/')}".rstrip("/")
    dest = f"{base}/{name}"
    run(["rclone", "copy", "--exclude", SUMS, str(root / name), dest], what="rclone copy")
    run(["rclone", "copyto", str(root / name / SUMS), f"{dest}/{SUMS}"], what="rclone copyto")
    run(["rclone", "check", "--one-way", str(root / name), dest], what="rclone check")
    listing = run(["rclone", "lsf", "--dirs-only", base], what="rclone lsf")
    cutoff = cutoff_name(days)
    for entry in listing.split():
        old = entry.rstrip("/")
        if NAME_RE.match(old) and old < cutoff and old != name:
            log(f"retention ({days} days): removing {base}/{old}")
            run(["rclone", "purge", f"{base}/{old}"], what="rclone purge")


# ------------------------------------------------------------------ restores
def pick_backup(root, wanted):
    names = complete_backups(root)
    if not names:
        raise Failure(f"no complete backup in {root}")
    name = names[-1] if wanted in (None, "", "latest") else wanted
    if name not in names:
        raise Failure(f"no complete backup named {name} in {root} (there are: {', '.join(names)})")
    return name


def verify_sums(folder):
    for line in (folder / SUMS).read_text().splitlines():
        digest, fname = line.split("  ", 1)
        if sha256(folder / fname) != digest:
            raise Failure(f"checksum mismatch: {folder / fname}")
    return json.loads((folder / MANIFEST).read_text())


def wait_ready(server, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = subprocess.run(server.exec_argv("pg_isready", "-q", "-h", "127.0.0.1", "-U", server.superuser),
                               capture_output=True, check=False)
        if probe.returncode == 0:
            return
        time.sleep(1)
    raise Failure(f"the scratch server did not become ready within {timeout}s")


def restore_database(server, database, path_in_container, jobs, exists):
    argv = ["pg_restore", "-U", server.superuser, "--exit-on-error", f"--jobs={jobs}"]
    argv += ["--clean", "--if-exists", "-d", database] if exists else ["--create", "-d", "postgres"]
    run(server.exec_argv(*argv, path_in_container), what=f"pg_restore of {database}")


def drill(cfg, wanted):
    start = time.monotonic()
    root = Path(cfg["backup_dir"])
    name = pick_backup(root, wanted)
    manifest = verify_sums(root / name)
    image = cfg["drill"]["image"] or run(
        ["docker", "inspect", "--format", "{{.Config.Image}}", live_container(cfg)], what="docker inspect").strip()
    scratch = f"keel-pg-drill-{os.getpid()}"
    log(f"drill: restoring backup {name} into scratch container {scratch} ({image})")
    run(["docker", "run", "-d", "--rm", "--name", scratch, "--network", "none", "--label", "org.keel.pg-drill=1",
         "-e", f"POSTGRES_USER={cfg['superuser']}", "-e", f"POSTGRES_PASSWORD={secrets.token_hex(16)}",
         "-v", f"{root / name}:/backup:ro", image], what="docker run (scratch server)")
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
            for table in sorted(set(info["tables"]) | set(got)):
                want_n, got_n = info["tables"].get(table), got.get(table)
                if want_n != got_n:
                    problems.append(f"{database}: {table}: manifest {want_n} rows, restored {got_n}")
            log(f"drill: {database}: {len(got)} tables, {sum(got.values())} rows restored")
        for check in cfg["drill"]["checks"]:
            rows = server.query(check["database"], check["query"])
            if not rows or rows[0][0] in ("", "f", "0"):
                problems.append(f"sentinel check on {check['database']} found nothing: {check['query']}")
            else:
                log(f"drill: sentinel on {check['database']}: {rows[0][0]}")
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", scratch], capture_output=True, check=False)
    seconds = round(time.monotonic() - start, 1)
    result = {"backup": name, "seconds": seconds, "databases": sorted(manifest["databases"]),
              "ok": not problems, "problems": problems}
    status = Path(cfg["status_dir"])
    status.mkdir(parents=True, exist_ok=True)
    (status / "last-drill.json").write_text(json.dumps(result, indent=2) + "\n")
    if problems:
        raise Failure(f"RESTORE DRILL FAILED for backup {name} after {seconds}s: " + "; ".join(problems))
    log(f"drill: backup {name} restored and matches its manifest in {seconds}s")
    return result


def restore(cfg, wanted, databases, confirm):
    if not confirm:
        raise Failure("restore overwrites the live databases: repeat with --confirm")
    start = time.monotonic()
    root = Path(cfg["backup_dir"])
    name = pick_backup(root, wanted)
    manifest = verify_sums(root / name)
    chosen = databases or sorted(manifest["databases"])
    unknown = sorted(set(chosen) - set(manifest["databases"]))
    if unknown:
        raise Failure(f"backup {name} has no dump of {', '.join(unknown)}")
    server = Server(live_container(cfg), cfg["superuser"])
    present = set(server.databases())
    for database in chosen:
        info = manifest["databases"][database]
        log(f"restore: {database} from backup {name} into the live server")
        argv = ["pg_restore", "-U", server.superuser, "--exit-on-error"]
        argv += ["--clean", "--if-exists", "-d", database] if database in present else ["--create", "-d", "postgres"]
        with open(root / name / info["file"], "rb") as dump:
            run(server.exec_argv(*argv, interactive=True), stdin=dump, what=f"pg_restore of {database}")
    seconds = round(time.monotonic() - start, 1)
    log(f"restore: backup {name} restored in {seconds}s")
    return {"backup": name, "databases": chosen, "seconds": seconds}


# ------------------------------------------------------------------ main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line at the end")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("backup")
    sub.add_parser("list")
    p_drill = sub.add_parser("drill")
    p_drill.add_argument("--backup", default="latest")
    p_restore = sub.add_parser("restore")
    p_restore.add_argument("--backup", required=True)
    p_restore.add_argument("--database", action="append", default=[])
    p_restore.add_argument("--confirm", action="store_true")
    args = parser.parse_args(argv)
    os.umask(0o077)
    try:
        cfg = json.loads(Path(args.config).read_text())
        if args.action == "backup":
            result = backup(cfg)
        elif args.action == "drill":
            result = drill(cfg, args.backup)
        elif args.action == "restore":
            result = restore(cfg, args.backup, args.database, args.confirm)
        else:
            result = {"backups": complete_backups(Path(cfg["backup_dir"]))}
            log("\n".join(result["backups"]))
    except (Failure, OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr, flush=True)
        return 1
    if args.json:
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
