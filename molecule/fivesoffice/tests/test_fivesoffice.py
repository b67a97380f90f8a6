"""The 5SOffice VPS from outside and inside: HTTPS, the order flow through the listener, firewall, SSH, backups.

The client (keel-5s-client) reaches the VPS as a customer's browser would, by the sites' names.
The tests that run the playbook again with bad input come last; each must leave the stack as it was.
"""

import json
import os
import shlex
from pathlib import Path

import keel_verify
import pytest
import testinfra
import yaml
from keel_verify import wait_for

SCENARIO = Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", Path(__file__).resolve().parents[1]))
ROOT = SCENARIO.parents[1]
CONVERGE = SCENARIO / "converge.yml"
DRILL = ROOT / "playbooks" / "postgres_restore_drill.yml"
TEST = yaml.safe_load((SCENARIO / "vars" / "test.yml").read_text())
VPS = "keel-5s-vps"
CLIENT = "keel-5s-client"
SITES = {site["name"]: site["server_names"][0] for site in TEST["nginx_sites"]}
API = f"https://{SITES['api']}"
ROOT_CA = "/usr/local/share/keel-test/pebble-root.pem"
STACK = "/opt/fivesoffice"
CHAIN = "http://127.0.0.1:8545"

testinfra_hosts = [f"ansible://{VPS}"]


@pytest.fixture(scope="module")
def client():
    return testinfra.get_host(f"ansible://{CLIENT}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def curl(runner, *args):
    """curl's status code and body, with only the ACME server's root trusted."""
    return keel_verify.curl(runner, *args, cafile=ROOT_CA)


def call(runner, method, url, body=None):
    return keel_verify.call_json(runner, method, url, body, cafile=ROOT_CA)


def psql(host, query):
    cmd = host.run("docker compose --project-directory /opt/postgres exec -T postgres "
                   f"psql -U postgres -d orders -tA -c {shlex.quote(query)}")
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def probe(runner, port):
    result = runner.run(f"timeout 5 bash -c '</dev/tcp/{VPS}/{port}' && echo open || echo closed")
    return result.stdout.strip()


@pytest.mark.parametrize("site, text", [("portal", "customer portal"), ("reception", "reception console")])
def test_the_portals_are_served_over_https_to_the_client(client, site, text):
    code, body = curl(client, f"https://{SITES[site]}/")
    assert code == 200 and text in body, body


def test_the_api_answers_over_https_with_a_certificate_from_the_acme_server(client):
    assert call(client, "GET", f"{API}/health") == (200, {"status": "UP"})
    # Only the ACME server's root makes it trusted: with the system's store the handshake fails.
    untrusted = client.run(f"curl -sS --max-time 20 {API}/health")
    assert untrusted.rc == 60, untrusted.stderr
    issuer = client.check_output(f"echo | openssl s_client -connect {VPS}:443 -servername {SITES['api']} 2>/dev/null"
                                 " | openssl x509 -noout -issuer -ext subjectAltName")
    assert "Pebble" in issuer and all(f"DNS:{name}" in issuer for name in SITES.values()), issuer


@pytest.mark.parametrize("site", ["portal", "api"])
def test_http_is_redirected_to_https(client, site):
    head = client.check_output(f"curl -sS --max-time 20 -o /dev/null -w '%{{http_code}} %{{redirect_url}}' "
                               f"http://{SITES[site]}/orders?x=1")
    assert head == f"301 https://{SITES[site]}/orders?x=1"


def test_an_order_becomes_valid_only_when_its_redemption_is_confirmed(host, client):
    shop = keel_verify.VoucherShop(client, API, CHAIN, cafile=ROOT_CA, chain_runner=host)
    order = shop.order("reception-1")
    url = f"{API}/orders/{order['order_hash']}"
    # Not VALID yet: delivering is refused.
    assert call(client, "POST", f"{url}/deliver", {"by": "reception"})[0] == 409
    block = shop.redeem(order)
    assert shop.wait_valid(order, 60)["redeemed_in_block"] == block
    # The listener took the block only once CONFIRMATIONS (3) blocks were on top of it.
    state = call(client, "GET", f"{API}/listener")[1]
    assert state["confirmations"] == 3 and state["head"] >= block + 3, state
    code, delivered = call(client, "POST", f"{url}/deliver", {"by": "reception"})
    assert code == 200 and delivered["status"] == "DELIVERED", delivered
    # The hash is the backend's own (0x and hex digits), not the test's input.
    assert psql(host, f"SELECT action FROM audit_log WHERE order_hash = '{order['order_hash']}'") == "deliver"  # noqa: S608


def test_the_listener_is_connected_and_consuming_as_the_backend_shows(client):
    first = call(client, "GET", f"{API}/listener")[1]
    assert first["connected"] is True and first["last_error"] is None, first
    wait_for(lambda: call(client, "GET", f"{API}/listener")[1]["last_block"] > first["last_block"], 30,
             "the listener to take a new block")


def test_the_listener_writes_only_into_its_schema(host):
    # The listener's user owns the chain schema and cannot change the backend's orders.
    denied = host.run("docker exec fivesoffice-listener-1 python3 -c %s" % shlex.quote(
        "import sys; sys.path.insert(0, '/srv'); import app; app.query('DELETE FROM orders')"))
    assert denied.rc != 0 and "permission denied" in denied.stderr, denied.stderr
    assert psql(host, "SELECT count(*) FROM chain.progress") == "1"


def test_only_ssh_and_the_web_are_reachable_from_the_client(host, client):
    for port in (22, 80, 443):
        assert probe(client, port) == "open", port
    # A service listening on every address of the VPS is still not reachable; nor are the stack's ports.
    host.run("systemd-run --unit keel-5s-probe --collect timeout 120 python3 -m http.server 9999")
    try:
        host.run("for i in $(seq 1 20); do ss -ltn | grep -q ':9999 ' && exit 0; sleep 0.5; done; exit 1")
        for port in (9999, 5432, 8080, 8545):
            assert probe(client, port) == "closed", port
    finally:
        host.run("systemctl stop keel-5s-probe")


def test_ssh_takes_keys_only(client):
    base = ("ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 "
            f"deploy@{VPS}")
    assert client.run(f"{base} -i /root/.ssh/admin_ed25519 true").rc == 0
    refused = client.run(f"{base} -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive "
                         "true")
    assert refused.rc != 0 and "Permission denied (publickey)" in refused.stderr, refused.stderr


def test_the_services_run_as_non_root_with_their_secrets_in_a_root_only_env(host):
    for service in ("backend", "listener"):
        assert host.check_output(f"docker exec fivesoffice-{service}-1 id -u") != "0", service
    env = host.file(f"{STACK}/.env")
    assert (env.user, env.mode) == ("root", 0o600)
    assert "CONFIRMATIONS='3'" in env.content_string.splitlines()
    assert TEST["vault_postgres_listener_password"] in env.content_string
    # The compose file refers to the secrets; it does not hold them.
    compose = host.file(f"{STACK}/compose.yaml").content_string
    assert TEST["vault_postgres_listener_password"] not in compose and "${RPC_URL}" in compose


def test_the_audit_log_is_kept_in_ten_files_of_50_mb(host):
    conf = host.file("/etc/audit/auditd.conf").content_string.splitlines()
    assert {"max_log_file = 50", "num_logs = 10", "max_log_file_action = ROTATE"} <= set(conf), conf


def test_security_updates_are_applied_automatically(host):
    assert 'APT::Periodic::Unattended-Upgrade "1";' in host.check_output("apt-config dump APT::Periodic")


def test_the_checklist_restored_the_newest_backup_by_a_drill(host):
    listed = json.loads(host.check_output("keel-pg-backup --json list").splitlines()[-1])
    assert listed["backups"], listed
    assert listed["last_drill"]["ok"] is True and listed["last_drill"]["backup"] == listed["backups"][-1], listed


def test_a_backup_lands_in_s3_and_a_drill_restores_it(host, run_playbook):
    assert host.run("systemctl start keel-pg-backup.service").rc == 0, \
        host.run("journalctl -u keel-pg-backup.service -n 40 --no-pager").stdout
    local = json.loads(host.check_output("keel-pg-backup --json list").splitlines()[-1])["backups"]
    in_s3 = json.loads(host.check_output("keel-pg-backup --json list --source s3").splitlines()[-1])["backups"]
    assert local and in_s3[-1] == local[-1]
    drill = run_playbook(DRILL, "-e", "postgres_drill_source=s3")
    assert drill.rc == 0, drill.failure()
    assert drill.says(f"Backup {local[-1]} (s3) restored into a scratch server and matches its manifest ("), \
        drill.output[-2000:]
    # The drill's check of the example inventory: the backend's tables are in the restored copy.
    assert drill.says("orders"), drill.output[-2000:]


def _refused(host, run_playbook, *args):
    compose = host.file(f"{STACK}/compose.yaml").content_string
    run = run_playbook(CONVERGE, *args)
    assert run.rc != 0
    assert run.recap(VPS)["changed"] == 0, run.output[-3000:]
    assert "Nothing was changed on any host" in run.output, run.failure()
    assert host.file(f"{STACK}/compose.yaml").content_string == compose
    return run


@pytest.mark.parametrize("extra, message", [
    ({"fivesoffice_backend_port": 5432}, "port 5432 is wanted by 5SOffice backend and by postgres"),
    ({"fivesoffice_database_name": "orders-db"}, "fivesoffice_database_name"),
    ({"fivesoffice_contract_address": "0x12"}, "is not a contract address"),
    ({"fivesoffice_database": "sqlite", "fivesoffice_components": ["backend", "portals"]},
     "fivesoffice_database is sqlite, a file on one host, and keel-5s-vps runs the backend without the listener"),
    ({"fivesoffice_database": "sqlite"}, "fivesoffice_database is sqlite and keel-5s-vps is in postgres_servers"),
])
def test_bad_input_is_refused_before_any_change(host, run_playbook, extra, message):
    run = _refused(host, run_playbook, "-e", json.dumps(extra))
    assert message in run.output, run.failure()
