"""The SQLite variant of 5SOffice (keel-5s-lite): the order flow on one file the two services share,
its daily snapshot in S3, the checklist's drill, and a confirmed restore into the live file.

The host runs the same playbook and group_vars as keel-5s-vps, with fivesoffice_database: sqlite and
no Postgres (vars/sqlite.yml). Its backend answers on loopback, as nginx would reach it.
"""

import json
import os
import shlex
from pathlib import Path

import keel_verify

SCENARIO = Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", Path(__file__).resolve().parents[1]))
RESTORE = SCENARIO.parents[1] / "playbooks" / "postgres_restore.yml"
LITE = "keel-5s-lite"
STACK = "/opt/fivesoffice"
FOLDER = "/var/lib/fivesoffice"
BACKEND = "http://127.0.0.1:8080"
CHAIN = "http://127.0.0.1:8545"
ROOT_CA = "/usr/local/share/keel-test/pebble-root.pem"
APP_UID = 10001

testinfra_hosts = [f"ansible://{LITE}"]


def call(host, method, path, body=None):
    return keel_verify.call_json(host, method, BACKEND + path, body, cafile=ROOT_CA)


def sqlite(host, query):
    """The first column of each row, read or written as the application (its container, its uid)."""
    script = ("import sqlite3, sys; c = sqlite3.connect('/data/orders.db', timeout=30); rows = c.execute(sys.argv[1])"
              ".fetchall(); c.commit(); print('\\n'.join(str(r[0]) for r in rows))")
    cmd = host.run(f"docker exec fivesoffice-backend-1 python3 -c {shlex.quote(script)} {shlex.quote(query)}")
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def backups(host, *args):
    return json.loads(host.check_output("keel-pg-backup --json list " + " ".join(args)).splitlines()[-1])


def test_an_order_becomes_valid_through_the_listener_on_the_shared_file(host):
    shop = keel_verify.VoucherShop(host, BACKEND, CHAIN, cafile=ROOT_CA)
    order = shop.order("lite-1")
    block = shop.redeem(order)
    assert shop.wait_valid(order, 60)["redeemed_in_block"] == block
    # Both services wrote into the one file: the backend its order, the listener its redemption.
    assert sqlite(host, f"SELECT site FROM orders WHERE order_hash = '{order['order_hash']}'") == "lite-1"  # noqa: S608
    assert sqlite(host, f"SELECT block FROM chain_redemptions WHERE order_hash = '{order['order_hash']}'") \
        == str(block)  # noqa: S608
    assert sqlite(host, "PRAGMA journal_mode") == "wal"


def test_the_file_is_the_services_and_no_database_secret_exists(host):
    folder = host.file(FOLDER)
    assert (folder.uid, folder.gid, folder.mode) == (APP_UID, APP_UID, 0o700)
    assert host.file(f"{FOLDER}/orders.db").uid == APP_UID
    for service in ("backend", "listener"):
        assert host.check_output(f"docker exec fivesoffice-{service}-1 id -u") == str(APP_UID), service
    env = host.file(f"{STACK}/.env").content_string
    assert "DATABASE_PASSWORD" not in env and "RPC_URL=" in env
    compose = host.file(f"{STACK}/compose.yaml").content_string
    assert "sqlite:////data/orders.db" in compose and "DATABASE_PASSWORD" not in compose
    # No Postgres on this host.
    assert sorted(host.check_output("docker ps -a --format '{{.Names}}'").split()) == [
        "fivesoffice-backend-1", "fivesoffice-chain-1", "fivesoffice-listener-1"]


def test_the_checklist_restored_the_newest_snapshot_by_a_drill(host):
    listed = backups(host)
    assert listed["backups"], listed
    assert listed["last_drill"]["ok"] is True and listed["last_drill"]["backup"] == listed["backups"][-1], listed
    newest = f"/var/backups/postgres/{listed['backups'][-1]}"
    assert host.file(f"{newest}/sqlite-orders.db.gz").exists
    manifest = json.loads(host.file(f"{newest}/manifest.json").content_string)
    assert "orders" in manifest["sqlite"] and not manifest.get("databases"), manifest


def test_a_snapshot_lands_in_s3_and_a_confirmed_restore_brings_orders_back(host, run_playbook):
    assert host.run("systemctl start keel-pg-backup.service").rc == 0, \
        host.run("journalctl -u keel-pg-backup.service -n 40 --no-pager").stdout
    local = backups(host)["backups"]
    assert backups(host, "--source s3")["backups"][-1] == local[-1]
    kept = int(sqlite(host, "SELECT count(*) FROM orders"))
    assert kept > 0
    # Lost orders (as the application, which owns the file and its WAL).
    sqlite(host, "DELETE FROM orders")
    assert sqlite(host, "SELECT count(*) FROM orders") == "0"
    run = run_playbook(RESTORE, "-e", f"postgres_restore_hosts={LITE}", "-e", f"postgres_restore_backup={local[-1]}",
                       "-e", "postgres_restore_confirm=true", "-e", '{"postgres_restore_databases": ["orders"]}')
    assert run.rc == 0, run.failure()
    assert run.says(f"Backup {local[-1]} (local) restored into orders"), run.output[-2000:]
    assert int(sqlite(host, "SELECT count(*) FROM orders")) == kept
    assert host.file(f"{FOLDER}/orders.db").uid == APP_UID
    # The services go on with the restored file: a new order is taken and listed.
    code, order = call(host, "POST", "/orders", {"site": "lite-2"})
    assert code == 201, order
    assert call(host, "GET", f"/orders/{order['order_hash']}")[1]["site"] == "lite-2"
