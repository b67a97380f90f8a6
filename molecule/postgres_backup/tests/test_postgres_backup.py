"""Postgres in Compose and a SQLite file, backed up by a systemd unit to a second host, then to S3,
proven by restores.

The tests run in file order: later ones build on what earlier ones did (data written,
a backup taken, a table dropped and restored). The last part switches the database host
to the S3 target (vars/s3.yml) against the test bed's MinIO that prepare.yml starts.
"""

import base64
import json
import os
import re
import shlex
import subprocess
import time

import pytest
import testinfra
import yaml
from keel_verify import wait_for

DB_HOST = "keel-p-db"
BACKUP_HOST = "keel-p-backup"
# Molecule's login on both hosts (login_user in molecule.yml): not root, sudo to root.
LOGIN = "deploy"
BACKUPS = "/var/backups/postgres"
REMOTE = f"/srv/keel-backups/{DB_HOST}"
NOTIFY_LOG = "/var/tmp/keel-pg-notify.log"  # noqa: S108 - a path on the test host
SENTINEL = "sentinel-4b7d"
SCENARIO = os.environ.get("MOLECULE_SCENARIO_DIRECTORY", ".")
CONVERGE = os.path.join(SCENARIO, "converge.yml")
S3_VARS = os.path.join(SCENARIO, "vars", "s3.yml")
PLAYBOOKS = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "playbooks")
DRILL = os.path.join(PLAYBOOKS, "postgres_restore_drill.yml")
RESTORE = os.path.join(PLAYBOOKS, "postgres_restore.yml")
NAME = re.compile(r"^\d{8}T\d{6}Z$")

testinfra_hosts = [f"docker://{DB_HOST}"]


@pytest.fixture(scope="module")
def backup_host():
    return testinfra.get_host(f"docker://{BACKUP_HOST}")


def live(host):
    return host.check_output(
        "docker ps -q --filter label=com.docker.compose.project=postgres"
        " --filter label=com.docker.compose.service=postgres"
    )


def psql(host, sql, db="shop"):
    cmd = host.run(f"docker exec {live(host)} psql -X -At -v ON_ERROR_STOP=1 -U postgres -d {db} -c %s", sql)
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def complete(host, folder):
    out = host.run(f"ls -1 {folder}").stdout.split()
    return sorted(n for n in out if NAME.match(n) and host.file(f"{folder}/{n}/SHA256SUMS").exists)


def write(host, path, content):
    assert host.run("echo %s | base64 -d > %s", base64.b64encode(content.encode()).decode(), path).rc == 0


def reseal(host, folder):
    """Write SHA256SUMS again after a test changed the manifest on purpose."""
    assert host.run(f"cd {folder} && find . -type f ! -name SHA256SUMS -printf '%P\\n' | sort"
                    " | xargs sha256sum > /tmp/S && mv /tmp/S SHA256SUMS").rc == 0


def run_backup(host):
    """Start the backup service the way the timer does and wait for it (oneshot)."""
    return host.run("systemctl start keel-pg-backup.service")


def backup_journal(host):
    return host.run("journalctl -u keel-pg-backup.service -n 40 --no-pager").stdout


def stamp(days_ago):
    """A backup's name, as keel-pg-backup gives one `days_ago` days ago."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - days_ago * 86400))


def wait_healthy(host, timeout=120):
    for _attempt in range(timeout // 2):
        cid = host.run("docker compose --project-directory /opt/postgres ps -q postgres").stdout.strip()
        if cid and host.run(f"docker inspect -f '{{{{.State.Health.Status}}}}' {cid}").stdout.strip() == "healthy":
            return
        time.sleep(2)
    raise AssertionError("the database did not become healthy again")


# ------------------------------------------------------------------ the login
def test_the_playbooks_changed_the_hosts_as_the_login_user_through_sudo(host, backup_host):
    # Molecule logs in as LOGIN over SSH (molecule.yml), and sudo logs each command
    # it runs for a user: every task the converge ran as root, LOGIN ran through sudo.
    for target in (host, backup_host):
        sudo = target.check_output("journalctl --no-pager --output=cat _COMM=sudo")
        assert re.search(rf"^\s*{LOGIN} : .*USER=root ; COMMAND=.*BECOME-SUCCESS-", sudo, re.MULTILINE), sudo[-2000:]


# ------------------------------------------------------------------ the server
def test_server_runs_healthy_with_data_on_a_named_volume(host):
    info = json.loads(host.check_output(f"docker inspect {live(host)}"))[0]
    assert info["State"]["Health"]["Status"] == "healthy"
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/var/lib/postgresql/data"]["Type"] == "volume"
    assert mounts["/var/lib/postgresql/data"]["Name"] == "postgres_pgdata"
    assert info["HostConfig"]["PortBindings"]["5432/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "5432"}]


def test_users_log_in_with_their_password_and_own_their_schemas(host):
    login = host.run(
        f"docker exec -e PGPASSWORD=keel-test-finance-77b0 {live(host)} "
        "psql -X -At -h 127.0.0.1 -U finance_gl -d erp -c 'SELECT current_user'"
    )
    assert login.rc == 0 and login.stdout.strip() == "finance_gl", login.stderr
    wrong = host.run(
        f"docker exec -e PGPASSWORD=wrong {live(host)} psql -X -At -h 127.0.0.1 -U finance_gl -d erp -c 'SELECT 1'"
    )
    assert wrong.rc != 0
    owners = psql(host, "SELECT nspname || ':' || pg_get_userbyid(nspowner) FROM pg_namespace ORDER BY 1", db="erp")
    assert "finance_gl:finance_gl" in owners.split()
    assert "inventory_core:inventory_core" in owners.split()
    assert psql(host, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'shop'") == "shop"


def test_units_are_installed_and_timers_enabled(host):
    assert host.service("keel-pg-backup.timer").is_enabled
    assert host.service("keel-pg-backup.timer").is_running
    assert host.service("keel-pg-restore-drill.timer").is_enabled
    config = host.file("/etc/keel/pg-backup/config.json")
    assert (config.user, config.mode) == ("root", 0o600)
    assert host.file("/etc/keel/pg-backup/id_backup").mode == 0o600


# ------------------------------------------------------------------ backup
def test_backup_via_systemd_writes_dumps_manifest_and_copy(host, backup_host):
    psql(host, "CREATE TABLE orders (id int PRIMARY KEY, item text);"
               "INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 1000) g;"
               "CREATE TABLE keel_sentinel (note text);"
               "INSERT INTO keel_sentinel VALUES ('sentinel-4b7d');")
    psql(host, "CREATE TABLE finance_gl.journal (id int, amount numeric);"
               "INSERT INTO finance_gl.journal SELECT g, g * 1.5 FROM generate_series(1, 250) g;", db="erp")
    # Values with newlines, tabs, carriage returns and backslashes (COPY escapes them; a
    # row that is only `\.` must not pass for the end of the data), an empty table, a
    # table without columns, and a partitioned table whose count(*) includes its partitions.
    psql(host, "CREATE TABLE notes (id int, body text);"
               "INSERT INTO notes VALUES (1, E'line one\\nline two'), (2, E'col\\tcol\\tcol'),"
               " (3, E'\\\\.'), (4, E'.\\n\\\\.\\n'), (5, E'cr\\r\\nlf'), (6, E'\\n\\n\\n'), (7, NULL), (8, '');"
               "CREATE TABLE empty_table (id int);"
               "CREATE TABLE no_columns ();"
               "INSERT INTO no_columns SELECT FROM generate_series(1, 3);")
    psql(host, "CREATE TABLE finance_gl.ledger (id int, year int) PARTITION BY RANGE (year);"
               "CREATE TABLE finance_gl.ledger_2024 PARTITION OF finance_gl.ledger FOR VALUES FROM (2024) TO (2025);"
               "CREATE TABLE finance_gl.ledger_2025 PARTITION OF finance_gl.ledger FOR VALUES FROM (2025) TO (2026);"
               "INSERT INTO finance_gl.ledger SELECT g, 2024 + g % 2 FROM generate_series(1, 99) g;", db="erp")
    before = complete(host, BACKUPS)
    run = run_backup(host)
    assert run.rc == 0, backup_journal(host)
    assert host.run("systemctl show -p Result --value keel-pg-backup.service").stdout.strip() == "success"
    after = complete(host, BACKUPS)
    assert len(after) == len(before) + 1
    name = after[-1]
    folder = f"{BACKUPS}/{name}"
    files = set(host.run(f"ls -1 {folder}").stdout.split())
    assert {"globals.sql", "db-shop", "db-erp", "db-postgres", "manifest.json", "SHA256SUMS"} <= files
    assert host.run(f"cd {folder} && sha256sum --strict -c SHA256SUMS").rc == 0
    # Every file of the folder is in SHA256SUMS.
    listed = {line.split("  ", 1)[1] for line in host.file(f"{folder}/SHA256SUMS").content_string.splitlines()}
    assert listed == set(host.check_output(f"cd {folder} && find . -type f ! -name SHA256SUMS -printf '%P\\n'")
                         .split())
    # Directory format (a parallel dump), compressed.
    assert "PGDMP" in host.check_output(f"head -c 5 {folder}/db-shop/toc.dat")
    assert host.run(f"ls {folder}/db-shop/*.dat.gz").rc == 0
    manifest = json.loads(host.file(f"{folder}/manifest.json").content_string)
    assert manifest["format"] == 2
    assert manifest["databases"]["shop"]["format"] == "directory"
    assert manifest["databases"]["shop"]["tables"]["public.orders"] == 1000
    assert manifest["databases"]["shop"]["tables"]["public.keel_sentinel"] == 1
    assert manifest["databases"]["erp"]["tables"]["finance_gl.journal"] == 250
    assert "CREATE ROLE finance_gl" in host.file(f"{folder}/globals.sql").content_string
    # The same backup, checked, on the backup host.
    assert name in complete(backup_host, REMOTE)
    assert backup_host.run(f"cd {REMOTE}/{name} && sha256sum --strict -c SHA256SUMS").rc == 0
    assert not [n for n in backup_host.run(f"ls -1A {REMOTE}").stdout.split() if n.startswith(".")]


def test_rows_with_newlines_and_tabs_are_counted_exactly(host):
    # The counts come from the dump's COPY data, not from a second scan: they must still
    # equal count(*) for values that hold newlines and tabs, and for the edge cases.
    manifest = json.loads(host.file(f"{BACKUPS}/{complete(host, BACKUPS)[-1]}/manifest.json").content_string)
    shop, erp = manifest["databases"]["shop"]["tables"], manifest["databases"]["erp"]["tables"]
    assert shop["public.notes"] == int(psql(host, "SELECT count(*) FROM notes")) == 8
    assert psql(host, "SELECT count(*) FROM notes WHERE body LIKE E'%\\n%' OR body LIKE E'%\\t%'") == "5"
    assert shop["public.empty_table"] == 0
    assert shop["public.no_columns"] == 3
    assert erp["finance_gl.ledger"] == 99
    assert erp["finance_gl.ledger_2024"] + erp["finance_gl.ledger_2025"] == 99
    assert erp["finance_gl.ledger_2024"] == int(psql(host, "SELECT count(*) FROM finance_gl.ledger_2024", db="erp"))
    # Every table of every database, as count(*) sees it now (nothing changed since the backup).
    for database, info in manifest["databases"].items():
        live_counts = {}
        for table in info["tables"]:
            # The names come quoted from the catalog (format %I.%I).
            live_counts[table] = int(psql(host, f"SELECT count(*) FROM {table}", db=database))  # noqa: S608
        assert info["tables"] == live_counts, database


def test_the_backup_key_can_do_nothing_but_store_backups(host):
    ssh = ("ssh -i /etc/keel/pg-backup/id_backup -o BatchMode=yes"
           f" -o UserKnownHostsFile=/etc/keel/pg-backup/known_hosts keelbackup@{BACKUP_HOST}")
    shell = host.run(f"{ssh} 'cat /etc/passwd'")
    assert shell.rc == 2 and "refused request" in shell.stderr
    sneaky = host.run(f"{ssh} 'put ../../tmp/x' < /dev/null")
    assert sneaky.rc == 2 and "not a backup name" in sneaky.stderr
    listing = host.run(f"{ssh} list")
    assert listing.rc == 0 and complete(host, BACKUPS)[-1] in listing.stdout.split()


# ------------------------------------------------------------------ SQLite
# The application's file (prepare.yml; postgres_backup_sqlite_files in molecule.yml), owned
# by the application's uid. The writer commits ten orders and their batch row at a time: a
# consistent copy holds ten orders for each batch.
SQLITE = "/srv/voucher/orders.db"
APP_UID = "10001"
WRITER = """
import sqlite3, time
conn = sqlite3.connect("/srv/voucher/orders.db", timeout=30)
conn.execute("PRAGMA journal_mode=WAL")
batch = conn.execute("SELECT coalesce(max(batch), 0) + 1 FROM batches").fetchone()[0]
while True:
    with conn:
        conn.executemany("INSERT INTO orders (batch, item) VALUES (?, ?)", [(batch, "item %d" % i) for i in range(10)])
        conn.execute("INSERT INTO batches VALUES (?)", (batch,))
    batch += 1
    time.sleep(0.002)
"""


def sqlite(host, query, user=None):
    """The first value of `query` on the live SQLite file (read-only unless run as `user`)."""
    if user:
        argv = f"setpriv --reuid={user} --regid={user} --clear-groups python3 -c %s"
        code = f"import sqlite3\nwith sqlite3.connect({SQLITE!r}) as c: print(c.execute({query!r}).fetchone())"
    else:
        argv = "python3 -c %s"
        code = (f"import sqlite3\nc = sqlite3.connect('file:{SQLITE}?mode=ro', uri=True)\n"
                f"print(c.execute({query!r}).fetchone()[0])")
    return host.check_output(argv, code)


def batches(host):
    return int(sqlite(host, "SELECT count(*) FROM batches"))


def test_a_sqlite_file_is_snapshotted_consistently_while_the_app_writes(host, backup_host):
    # The uid has no passwd entry on the host (systemd-run --uid would refuse it): setpriv.
    writer = host.run("systemd-run --unit keel-sqlite-writer setpriv --reuid=%s --regid=%s --clear-groups"
                      " python3 -c %s", APP_UID, APP_UID, WRITER)
    assert writer.rc == 0, writer.stderr
    try:
        wait_for(lambda: batches(host) >= 50, 30, "the writer's first batches")
        before = batches(host)
        assert run_backup(host).rc == 0, backup_journal(host)
        after = batches(host)
        assert host.service("keel-sqlite-writer").is_running
    finally:
        host.run("systemctl stop keel-sqlite-writer")
    name = complete(host, BACKUPS)[-1]
    folder = f"{BACKUPS}/{name}"
    voucher = json.loads(host.file(f"{folder}/manifest.json").content_string)["sqlite"]["voucher"]
    assert voucher["integrity_check"] == "ok" and voucher["file"] == "sqlite-voucher.db.gz"
    tables = voucher["tables"]
    # Taken while the writer went on, and holding whole transactions only.
    assert before < after and before <= tables["batches"] <= after
    assert tables["orders"] == 10 * tables["batches"]
    assert tables["keel_sentinel"] == 1
    assert host.run(f"cd {folder} && sha256sum --strict -c SHA256SUMS").rc == 0
    # The backup ran as root: the live file and its -wal and -shm still belong to the application.
    assert set(host.check_output(f"stat -c %u {SQLITE} {SQLITE}-wal {SQLITE}-shm").split()) == {APP_UID}
    # The same copy reached the backup host, checked there.
    assert name in complete(backup_host, REMOTE)
    assert backup_host.file(f"{REMOTE}/{name}/sqlite-voucher.db.gz").exists
    assert backup_host.run(f"cd {REMOTE}/{name} && sha256sum --strict -c SHA256SUMS").rc == 0


# ------------------------------------------------------------------ drill and restore
def test_drill_restores_into_scratch_and_finds_the_sentinel(host, run_playbook):
    psql(host, "DROP TABLE orders")
    run = run_playbook(DRILL)
    assert run.rc == 0, run.output[-3000:]
    assert run.says("(local) restored into a scratch server and matches its manifest")
    assert re.search(r"in \d+(\.\d+)? s", run.output)
    report = json.loads(host.file("/var/lib/keel/pg-backup/last-drill.json").content_string)
    assert report["ok"] is True and report["backup"] == complete(host, BACKUPS)[-1]
    # The SQLite snapshot was drilled too (into a scratch file), its sentinel found.
    assert "voucher" in report["databases"]
    # The live server was not touched, and the scratch server is gone.
    assert psql(host, "SELECT to_regclass('public.orders') IS NULL") == "t"
    assert host.check_output("docker ps -aq --filter label=org.keel.pg-drill=1") == ""


def test_drill_fails_loudly_when_the_backup_does_not_match(host, run_playbook):
    name = complete(host, BACKUPS)[-1]
    manifest = f"{BACKUPS}/{name}/manifest.json"
    original = host.file(manifest).content_string
    tampered = json.loads(original)
    tampered["databases"]["shop"]["tables"]["public.orders"] = 999
    try:
        write(host, manifest, json.dumps(tampered))
        reseal(host, f"{BACKUPS}/{name}")
        run = run_playbook(DRILL)
        assert run.rc != 0
        assert "RESTORE DRILL FAILED" in run.output
        assert "public.orders: manifest 999 rows, restored 1000" in run.output
    finally:
        write(host, manifest, original)
        reseal(host, f"{BACKUPS}/{name}")
    assert host.run(f"cd {BACKUPS}/{name} && sha256sum --strict -c SHA256SUMS").rc == 0


def test_restore_needs_the_confirmation(host, run_playbook):
    run = run_playbook(RESTORE, "-e", "postgres_restore_backup=latest")
    assert run.rc != 0
    assert "confirm with -e postgres_restore_confirm=true" in run.output
    assert psql(host, "SELECT to_regclass('public.orders') IS NULL") == "t"


@pytest.mark.parametrize(("answers", "message"), [
    ({"postgres_restore_confirm": "yes please"}, "postgres_restore_confirm 'yes please' is neither true nor false"),
    ({"postgres_restore_confirm": "true", "postgres_restore_databases": "shop; drop"},
     "postgres_restore_databases ['shop;', 'drop'] has an item 'shop;' that is not a name"),
], ids=["confirmation not true or false", "database names from a text"])
def test_survey_answers_that_do_not_fit_are_refused_before_the_restore(host, run_playbook, answers, message):
    run = run_playbook(RESTORE, "-e", json.dumps({"postgres_restore_backup": "latest", **answers}))
    assert run.rc != 0
    assert run.says(message), run.failure()
    assert psql(host, "SELECT to_regclass('public.orders') IS NULL") == "t"


def test_restore_brings_the_table_back_into_the_live_database(host, run_playbook):
    name = complete(host, BACKUPS)[-1]
    # As a job template's survey gives the answers (AWX's extra variables): texts, not a list or a boolean.
    run = run_playbook(RESTORE, "-e", json.dumps({"postgres_restore_backup": name, "postgres_restore_confirm": "true",
                                                  "postgres_restore_databases": "shop"}))
    assert run.rc == 0, run.output[-3000:]
    assert run.says(f"Backup {name} (local) restored into shop ")
    assert psql(host, "SELECT count(*) FROM orders") == "1000"
    assert psql(host, "SELECT note FROM keel_sentinel") == SENTINEL
    assert psql(host, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'orders'") == "postgres"
    assert psql(host, "SELECT count(*) FROM finance_gl.journal", db="erp") == "250"


def test_a_confirmed_restore_brings_rows_back_into_the_live_sqlite_file(host, run_playbook):
    name = complete(host, BACKUPS)[-1]
    tables = json.loads(host.file(f"{BACKUPS}/{name}/manifest.json").content_string)["sqlite"]["voucher"]["tables"]
    sqlite(host, "DELETE FROM orders WHERE batch > 10", user=APP_UID)
    assert int(sqlite(host, "SELECT count(*) FROM orders")) == 100
    run = run_playbook(RESTORE, "-e", f"postgres_restore_backup={name}", "-e", "postgres_restore_confirm=true",
                       "-e", '{"postgres_restore_databases": ["voucher"]}')
    assert run.rc == 0, run.failure()
    assert run.says(f"Backup {name} (local) restored into voucher")
    assert int(sqlite(host, "SELECT count(*) FROM orders")) == tables["orders"] > 100
    assert sqlite(host, "PRAGMA journal_mode") == "wal"
    assert host.file(SQLITE).uid == int(APP_UID)
    # The application writes on as before.
    sqlite(host, "INSERT INTO batches VALUES (999999)", user=APP_UID)


def make_format1_backup(host, name):
    """A backup as keel-pg-backup wrote them before the directory format (manifest format 1):
    one custom-format file per database, counts taken in the dump's snapshot."""
    folder = f"{BACKUPS}/{name}"
    cid = live(host)
    assert host.run(f"mkdir -m 700 {folder}").rc == 0
    assert host.run(f"docker exec {cid} pg_dumpall -U postgres --globals-only > {folder}/globals.sql").rc == 0
    manifest = {"name": name, "format": 1, "created": "2026-01-01T00:00:00+00:00", "host": DB_HOST,
                "server_version": "15", "globals": "globals.sql", "databases": {}}
    for database in ("shop", "erp"):
        assert host.run(f"docker exec {cid} pg_dump -U postgres -d {database} --format=custom --compress=6"
                        f" > {folder}/db-{database}.dump").rc == 0
        tables = psql(host, "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n"
                            " ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
                            " AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'", db=database).split()
        counts = {t: int(psql(host, f"SELECT count(*) FROM {t}", db=database)) for t in tables}  # noqa: S608
        manifest["databases"][database] = {"file": f"db-{database}.dump", "size": 0, "seconds": 0.1,
                                           "tables": counts}
    write(host, f"{folder}/manifest.json", json.dumps(manifest, indent=2))
    reseal(host, folder)
    return manifest


def test_a_backup_of_the_earlier_format_passes_the_drill_and_restores(host, run_playbook):
    name = stamp(1)
    manifest = make_format1_backup(host, name)
    assert manifest["databases"]["shop"]["tables"]["public.orders"] == 1000
    try:
        drill = run_playbook(DRILL, "-e", f"postgres_drill_backup={name}")
        assert drill.rc == 0, drill.output[-3000:]
        assert drill.says("matches its manifest")
        report = json.loads(host.file("/var/lib/keel/pg-backup/last-drill.json").content_string)
        assert report["ok"] is True and report["backup"] == name
        # The drill of the old format is as strict: a wrong count fails it.
        tampered = dict(manifest)
        tampered["databases"]["shop"]["tables"]["public.notes"] = 7
        write(host, f"{BACKUPS}/{name}/manifest.json", json.dumps(tampered))
        reseal(host, f"{BACKUPS}/{name}")
        bad = run_playbook(DRILL, "-e", f"postgres_drill_backup={name}")
        assert bad.rc != 0 and "public.notes: manifest 7 rows, restored 8" in bad.output, bad.output[-3000:]
        # The confirmed restore reads the old format too.
        psql(host, "DROP TABLE orders")
        run = run_playbook(RESTORE, "-e", f"postgres_restore_backup={name}", "-e", "postgres_restore_confirm=true",
                           "-e", '{"postgres_restore_databases": ["shop"]}')
        assert run.rc == 0, run.output[-3000:]
        assert psql(host, "SELECT count(*) FROM orders") == "1000"
        assert psql(host, "SELECT body FROM notes WHERE id = 1") == "line one\nline two"
    finally:
        host.run(f"rm -rf {BACKUPS}/{name}")


# ------------------------------------------------------------------ retention
def test_retention_removes_old_backups_locally_and_remotely(host, backup_host):
    old, recent = ["20200101T000000Z", stamp(9)], stamp(3)
    for name in [*old, recent]:
        host.run(f"mkdir -p {BACKUPS}/{name} && touch {BACKUPS}/{name}/SHA256SUMS")
        backup_host.run(f"mkdir -p {REMOTE}/{name} && touch {REMOTE}/{name}/SHA256SUMS"
                        f" && chown -R keelbackup {REMOTE}/{name}")
    assert run_backup(host).rc == 0
    for name in old:
        assert not host.file(f"{BACKUPS}/{name}").exists
        assert not backup_host.file(f"{REMOTE}/{name}").exists
    assert host.file(f"{BACKUPS}/{recent}").exists
    assert backup_host.file(f"{REMOTE}/{recent}").exists
    newest = complete(host, BACKUPS)[-1]
    assert newest > recent and newest in complete(backup_host, REMOTE)
    host.run(f"rm -rf {BACKUPS}/{recent}")
    backup_host.run(f"rm -rf {REMOTE}/{recent}")


# ------------------------------------------------------------------ failures
def wait_failed(host, unit="keel-pg-backup.service", timeout=300):
    for _attempt in range(timeout):
        state = host.run(f"systemctl is-active {unit}").stdout.strip()
        if state == "failed":
            return
        time.sleep(1)
    raise AssertionError(f"{unit} did not fail: {state}")


def wait_notified(host, unit="keel-pg-backup.service", timeout=30):
    for _attempt in range(timeout):
        if unit in host.run(f"cat {NOTIFY_LOG}").stdout:
            return
        time.sleep(1)
    raise AssertionError(f"the notification command was not run for {unit}")


def test_database_stopped_during_a_backup_fails_the_unit_and_leaves_nothing_complete(host):
    host.run(f"rm -f {NOTIFY_LOG}")
    before = complete(host, BACKUPS)
    # Hold a lock so that pg_dump of shop waits, then stop the server under it.
    host.run(f"docker exec -d {live(host)} psql -U postgres -d shop "
             "-c 'BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(300);'")
    time.sleep(2)
    host.run("systemctl start --no-block keel-pg-backup.service")
    for _attempt in range(60):
        if host.run(f"ls -d {BACKUPS}/.partial-*/db-shop").rc == 0:
            break
        time.sleep(1)
    else:
        raise AssertionError("the backup never reached the dump of shop")
    try:
        assert host.run("docker compose --project-directory /opt/postgres stop -t 5 postgres").rc == 0
        wait_failed(host)
        status = host.run("systemctl show -p ExecMainStatus --value keel-pg-backup.service").stdout.strip()
        assert status == "1"
        assert "ERROR:" in backup_journal(host)
        wait_notified(host)
        assert complete(host, BACKUPS) == before
        assert host.run(f"ls -d {BACKUPS}/.partial-*").rc != 0
    finally:
        host.run("docker compose --project-directory /opt/postgres start postgres")
        wait_healthy(host)
        host.run("systemctl reset-failed keel-pg-backup.service")


def test_a_broken_target_fails_the_unit_and_the_notification_runs(host, backup_host):
    host.run(f"rm -f {NOTIFY_LOG}")
    remote_before = complete(backup_host, REMOTE)
    backup_host.run("systemctl stop ssh.service ssh.socket")
    try:
        run = run_backup(host)
        assert run.rc != 0
        assert host.run("systemctl is-failed keel-pg-backup.service").stdout.strip() == "failed"
        assert host.run("systemctl show -p ExecMainStatus --value keel-pg-backup.service").stdout.strip() == "1"
        wait_notified(host)
        assert complete(backup_host, REMOTE) == remote_before
        assert not [n for n in backup_host.run(f"ls -1A {REMOTE}").stdout.split() if n.startswith(".")]
    finally:
        backup_host.run("systemctl start ssh.service")
        host.run("systemctl reset-failed keel-pg-backup.service")
    # With the target back, the next run succeeds again.
    assert run_backup(host).rc == 0


# ------------------------------------------------------------------ idempotence and input
@pytest.mark.parametrize("name", [DB_HOST, BACKUP_HOST])
def test_the_login_user_alone_changes_nothing(host, backup_host, run_playbook, name):
    # The same converge without become (the variable wins over the plays' keyword), one
    # host at a time: the login user is not root, so the host stops at its first task
    # that needs root, and nothing changed.
    config = host.file("/etc/keel/pg-backup/config.json").content_string
    keys = backup_host.file("/srv/keel-backups/.ssh/authorized_keys").content_string
    run = run_playbook(CONVERGE, "--limit", name, "-e", "ansible_become=false")
    assert run.rc != 0, run.output[-3000:]
    assert "permission denied" in run.output.lower(), run.output[-3000:]
    assert run.recap(name)["failed"] == 1, run.output[-3000:]
    assert run.recap(name)["changed"] == 0, run.output[-3000:]
    assert host.file("/etc/keel/pg-backup/config.json").content_string == config
    assert backup_host.file("/srv/keel-backups/.ssh/authorized_keys").content_string == keys


def test_second_run_and_check_mode_change_nothing(host, run_playbook):
    # `host` keeps this test in its place, before the S3 part (pytest moves a test without the
    # hosts' parameter behind those with it).
    again = run_playbook(CONVERGE)
    assert again.rc == 0, again.output[-3000:]
    check = run_playbook(CONVERGE, "--check")
    assert check.rc == 0, check.output[-3000:]
    for name in (DB_HOST, BACKUP_HOST):
        assert again.recap(name)["changed"] == 0, again.output[-3000:]
        assert check.recap(name)["changed"] == 0, check.output[-3000:]


BAD_INPUT = [
    # Only the database host: its input check refuses the value.
    (["--limit", DB_HOST, "-e", "postgres_backup_retention_days=0"],
     "postgres_backup_retention_days 0 is outside 7 to 30 days"),
    (["--limit", DB_HOST, "-e", "postgres_backup_retention_days=400"],
     "postgres_backup_retention_days 400 is outside 7 to 30 days"),
    # Both hosts: the preflight refuses it on the database host before the backup host is touched.
    (["-e", "postgres_backup_retention_days=400"], "postgres_backup_retention_days 400 is outside 7 to 30 days"),
    (["-e", '{"postgres_backup_ssh_private_key": ""}'], "postgres_backup_ssh_private_key is not a private key"),
    # A backup host the database host names wrongly would drop its working key: refused first.
    (["-e", "postgres_backup_ssh_host='keel p backup'"], "postgres_backup_ssh_host 'keel p backup' is not a host name"),
    (["-e", "postgres_backup_ssh_host=backup.elsewhere.example"],
     "postgres_backup_ssh_host 'backup.elsewhere.example' is not a host of group postgres_backup_targets"),
    (["-e", '{"postgres_backup_databases": ["shop", "nosuchdb"]}'],
     "Unknown database(s) in postgres_backup_databases: nosuchdb"),
    # A SQLite file named as a database that is dumped; one given by a relative path (both refused by the
    # preflight, in seconds; the role's later check against the server's own databases costs a converge).
    (["--limit", DB_HOST, "-e", '{"postgres_backup_databases": ["shop"],'
      ' "postgres_backup_sqlite_files": [{"name": "shop", "path": "/srv/shop.db"}]}'],
     "postgres_backup_sqlite_files: shop is also in postgres_backup_databases"),
    (["--limit", DB_HOST, "-e", '{"postgres_backup_sqlite_files": [{"name": "voucher", "path": "orders.db"}]}'],
     "has an item 'orders.db' that is not an absolute path"),
    (["-e", '{"postgres_backup_target_clients": [{"name": "x", "retention_days": 7}]}'],
     "A backup target without a key is refused"),
    # The S3 target (vars/s3.yml): a folder in the bucket's name; a drill from S3 where the copies go over SSH.
    (["--limit", DB_HOST, "-e", f"@{S3_VARS}", "-e", "postgres_backup_s3_bucket=keel-pg-backups/db1"],
     "postgres_backup_s3_bucket 'keel-pg-backups/db1' is not an S3 bucket name"),
    (["--limit", DB_HOST, "-e", "postgres_backup_drill_source=s3"],
     "postgres_backup_drill_source is s3 and postgres_backup_target is ssh"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_bad_input_is_refused_before_any_change(host, backup_host, run_playbook, args, message):
    config = host.file("/etc/keel/pg-backup/config.json").content_string
    keys = backup_host.file("/srv/keel-backups/.ssh/authorized_keys").content_string
    run = run_playbook(CONVERGE, *args)
    assert run.rc != 0
    assert message in " ".join(run.output.split()), run.output[-3000:]
    assert run.recap(DB_HOST)["changed"] == 0
    assert host.file("/etc/keel/pg-backup/config.json").content_string == config
    assert backup_host.file("/srv/keel-backups/.ssh/authorized_keys").content_string == keys


# ------------------------------------------------------------------ S3 target
# Last: the database host converged again, with the S3 target (vars/s3.yml). The bucket is
# read with rclone on the database host and the test's own keys, not through keel-pg-backup.
with open(S3_VARS) as fh:
    S3 = yaml.safe_load(fh)
AWAY = "/var/backups/postgres-away"


class Bucket:
    """The backups' folder in the bucket, read and written with rclone on the database host."""

    def __init__(self, host):
        self.host = host
        self.base = f":s3:{S3['postgres_backup_s3_bucket']}/{S3['postgres_backup_s3_prefix']}"
        self.env = {
            "RCLONE_CONFIG": "/dev/null",
            "RCLONE_S3_PROVIDER": "Other",
            "RCLONE_S3_ENDPOINT": S3["postgres_backup_s3_endpoint"],
            "RCLONE_S3_ACCESS_KEY_ID": S3["postgres_backup_s3_access_key"],
            "RCLONE_S3_SECRET_ACCESS_KEY": S3["postgres_backup_s3_secret_key"],
        }

    def rclone(self, *args, stdin=None):
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        command = f"env {env} rclone {shlex.join(args)}"
        if stdin is not None:
            command = f"printf %s {shlex.quote(stdin)} | {command}"
        return self.host.run(command)

    def files(self):
        """Every object under the prefix, as NAME/path."""
        listing = self.rclone("lsf", "-R", "--files-only", self.base)
        assert listing.rc == 0, listing.stderr
        return set(listing.stdout.split())

    def complete(self):
        return sorted(f.split("/")[0] for f in self.files() if f.endswith("/SHA256SUMS"))

    def folders(self):
        return {f.split("/")[0] for f in self.files()}


@pytest.fixture(scope="module")
def s3_converge(run_playbook):
    """The collection's playbook on the database host with the S3 target, once, before the first S3 test."""
    run = run_playbook(CONVERGE, "--limit", DB_HOST, "-e", f"@{S3_VARS}")
    assert run.rc == 0, run.failure()
    return run


@pytest.fixture(scope="module")
def bucket(host, s3_converge):
    return Bucket(host)


def test_the_s3_keys_are_root_only_and_never_printed(host, s3_converge):
    env = host.file("/etc/keel/pg-backup/s3.env")
    assert (env.user, env.mode) == ("root", 0o600)
    assert f"RCLONE_S3_SECRET_ACCESS_KEY={S3['postgres_backup_s3_secret_key']}" in env.content_string
    assert S3["postgres_backup_s3_secret_key"] not in s3_converge.output
    config = json.loads(host.file("/etc/keel/pg-backup/config.json").content_string)
    assert config["target"] == {"type": "s3", "bucket": S3["postgres_backup_s3_bucket"],
                                "prefix": S3["postgres_backup_s3_prefix"], "env_file": "/etc/keel/pg-backup/s3.env"}
    assert host.package("rclone").is_installed
    # In no unit's environment either: keel-pg-backup reads the file and hands the keys to rclone alone.
    assert "s3.env" not in host.file("/etc/systemd/system/keel-pg-backup.service").content_string


def test_a_second_run_with_the_s3_target_changes_nothing(host, s3_converge, run_playbook):
    assert s3_converge.recap(DB_HOST)["changed"] > 0
    again = run_playbook(CONVERGE, "--limit", DB_HOST, "-e", f"@{S3_VARS}")
    assert again.rc == 0, again.failure()
    assert again.recap(DB_HOST)["changed"] == 0, again.output[-3000:]


def test_a_backup_and_every_kept_one_land_in_s3_with_their_sha256sums(host, bucket):
    assert run_backup(host).rc == 0, backup_journal(host)
    local = complete(host, BACKUPS)
    newest = local[-1]
    # The new backup, and the ones kept from the SSH tests, which S3 did not have yet.
    assert bucket.complete() == local
    listed = host.file(f"{BACKUPS}/{newest}/SHA256SUMS").content_string.split("\n")
    expected = {f"{newest}/{line.split('  ', 1)[1]}" for line in listed if line} | {f"{newest}/SHA256SUMS"}
    assert {f for f in bucket.files() if f.startswith(f"{newest}/")} == expected
    # The bytes in the bucket are the backup's: downloaded and checked against SHA256SUMS.
    scratch = "/var/tmp/keel-s3-check"  # noqa: S108 - a path on the test host
    try:
        assert bucket.rclone("copy", f"{bucket.base}/{newest}", scratch).rc == 0
        assert host.run(f"cd {scratch} && sha256sum --strict -c SHA256SUMS").rc == 0
    finally:
        host.run(f"rm -rf {scratch}")
    listing = host.run("keel-pg-backup --json list --source s3")
    assert listing.rc == 0, listing.stderr
    assert json.loads(listing.stdout.splitlines()[-1])["backups"] == local


def test_retention_removes_aged_copies_from_s3(host, bucket):
    aged, recent = ["20200101T000000Z", stamp(9)], stamp(3)
    for name in [*aged, recent]:
        assert bucket.rclone("rcat", f"{bucket.base}/{name}/SHA256SUMS", stdin="").rc == 0
    assert set(aged) | {recent} <= bucket.folders()
    assert run_backup(host).rc == 0, backup_journal(host)
    folders = bucket.folders()
    assert not set(aged) & folders
    assert recent in folders
    assert complete(host, BACKUPS)[-1] in bucket.complete()
    assert f"removing {bucket.base}/20200101T000000Z" in backup_journal(host)
    assert bucket.rclone("purge", f"{bucket.base}/{recent}").rc == 0


@pytest.fixture
def disk_lost(host):
    """The host's local backups out of the way, as after a lost disk; back afterwards."""
    assert host.run(f"mv {BACKUPS} {AWAY} && install -d -m 0700 {BACKUPS}").rc == 0
    yield
    assert host.run(f"rm -rf {BACKUPS} && mv {AWAY} {BACKUPS}").rc == 0


def test_the_drill_restores_the_newest_copy_from_s3(host, bucket, run_playbook, disk_lost):
    # postgres_backup_drill_source: s3 (vars/s3.yml): the drill's default is the copy in S3.
    run = run_playbook(DRILL)
    assert run.rc == 0, run.failure()
    assert run.says("(s3) restored into a scratch server and matches its manifest")
    report = json.loads(host.file("/var/lib/keel/pg-backup/last-drill.json").content_string)
    assert report["ok"] is True
    assert (report["source"], report["backup"]) == ("s3", bucket.complete()[-1])
    # Nothing left behind: no scratch server, no downloaded copy.
    assert host.check_output("docker ps -aq --filter label=org.keel.pg-drill=1") == ""
    assert host.run(f"ls -A {BACKUPS}").stdout.split() == []


def test_a_confirmed_restore_from_s3_brings_a_dropped_table_back(host, bucket, run_playbook, disk_lost):
    psql(host, "DROP TABLE orders")
    run = run_playbook(RESTORE, "-e", "postgres_restore_backup=latest", "-e", "postgres_restore_confirm=true",
                       "-e", "postgres_restore_source=s3", "-e", '{"postgres_restore_databases": ["shop"]}')
    assert run.rc == 0, run.failure()
    assert run.says(f"Backup {bucket.complete()[-1]} (s3) restored into shop")
    assert psql(host, "SELECT count(*) FROM orders") == "1000"
    assert psql(host, "SELECT note FROM keel_sentinel") == SENTINEL
    assert host.run(f"ls -A {BACKUPS}").stdout.split() == []


def test_a_copy_changed_in_s3_is_refused_before_any_restore(host, bucket):
    newest = bucket.complete()[-1]
    manifest = f"{bucket.base}/{newest}/manifest.json"
    original = bucket.rclone("cat", manifest).stdout
    try:
        assert bucket.rclone("rcat", manifest, stdin=original.replace('"shop"', '"shop" ')).rc == 0
        drill = host.run("keel-pg-backup drill --source s3")
        assert drill.rc == 1
        assert "ERROR: checksum mismatch" in drill.stderr and "manifest.json" in drill.stderr, drill.stderr
        assert "drill: restoring" not in drill.stdout
    finally:
        assert bucket.rclone("rcat", manifest, stdin=original).rc == 0


def docker(*args):
    subprocess.run(["docker", *args], check=True, capture_output=True, timeout=120)


def test_a_copy_missed_while_s3_was_down_is_made_by_the_next_run(host, bucket):
    host.run(f"rm -f {NOTIFY_LOG}")
    before = bucket.complete()
    docker("stop", "-t", "5", S3["keel_s3_container"])
    # rclone would retry for about a minute before it gives up: once here, through the
    # environment systemd gives the unit (keel-pg-backup passes it on to rclone).
    host.run("systemctl set-environment RCLONE_RETRIES=1 RCLONE_LOW_LEVEL_RETRIES=1")
    try:
        assert run_backup(host).rc != 0
        assert host.run("systemctl is-failed keel-pg-backup.service").stdout.strip() == "failed"
        assert "rclone listing failed" in backup_journal(host)
        wait_notified(host)
    finally:
        host.run("systemctl unset-environment RCLONE_RETRIES RCLONE_LOW_LEVEL_RETRIES")
        docker("start", S3["keel_s3_container"])
        host.run("systemctl reset-failed keel-pg-backup.service")
    missed = complete(host, BACKUPS)[-1]
    assert missed not in before
    wait_for(lambda: host.run(f"curl -sf {S3['postgres_backup_s3_endpoint']}/minio/health/ready").rc == 0, 60,
             "MinIO ready again")
    assert run_backup(host).rc == 0, backup_journal(host)
    assert f"s3: {missed} copied to" in backup_journal(host)
    assert missed in bucket.complete()
    assert bucket.complete() == complete(host, BACKUPS)
