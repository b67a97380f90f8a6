"""The 5SOffice MVP on two VPS: Postgres reachable from B alone, the order flow across both, and B stopped.

The B-stopped test comes last: it stops and starts B's container (a VPS reboot; B keeps its private address).

A (keel-5s2-a) runs nginx, the portals, the backend and Postgres; B (keel-5s2-b) the listener and the
monitoring. The client (keel-5s2-client) reaches them as a customer's browser or another host would.
What both layouts share (the security baseline, SSH, the certificates, backups) is proven by the
one-VPS scenario; these tests prove what the split adds.
"""

import json
import os
import subprocess
from pathlib import Path

import keel_verify
import pytest
import testinfra
import yaml

SCENARIO = Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", Path(__file__).resolve().parents[1]))
TEST = yaml.safe_load((SCENARIO.parent / "fivesoffice" / "vars" / "test.yml").read_text())
A, B, CLIENT = "keel-5s2-a", "keel-5s2-b", "keel-5s2-client"
SITES = {site["name"]: site["server_names"][0] for site in TEST["nginx_sites"]}
API = f"https://{SITES['api']}"
ROOT_CA = "/usr/local/share/keel-test/pebble-root.pem"
CHAIN = "http://keel-5s2-chain:8080"
TWO_VPS = yaml.safe_load((SCENARIO / "vars" / "two_vps.yml").read_text())
TEST_URLS = TWO_VPS["fivesoffice_monitoring_urls"]
A_PRIVATE = TWO_VPS["keel_5s2_private_addresses"][A]

testinfra_hosts = [f"ansible://{A}"]


def _host(name):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


@pytest.fixture(scope="module")
def client():
    return _host(CLIENT)


@pytest.fixture(scope="module")
def b():
    return _host(B)


def curl(runner, *args):
    """curl's status code and body, with only the ACME server's root trusted."""
    return keel_verify.curl(runner, *args, cafile=ROOT_CA)


def call(runner, method, url, body=None):
    return keel_verify.call_json(runner, method, url, body, cafile=ROOT_CA)


def probe(runner, port, target=A):
    result = runner.run(f"timeout 5 bash -c '</dev/tcp/{target}/{port}' && echo open || echo closed")
    return result.stdout.strip()


def test_postgres_on_a_answers_the_listener_host_only(host, b, client):
    # Published on A's private address, past ufw's input rules: DOCKER-USER holds the same list. The client
    # is in the private network too.
    assert probe(b, 5432, A_PRIVATE) == "open"
    assert probe(client, 5432, A_PRIVATE) == "closed"
    assert probe(client, 5432) == "closed"
    assert any("--ctorigdstport 5432" in rule and "-s " in rule
               for rule in host.check_output("iptables -S DOCKER-USER").splitlines())
    # The same list, as ufw shows it: 5432 from B only.
    lines = [line for line in host.check_output("ufw status").splitlines() if line.startswith("5432/tcp")]
    assert lines and not any("Anywhere" in line for line in lines), lines


def test_a_port_published_on_every_address_of_a_is_closed_to_the_client(host, client):
    # Docker would let this container answer everyone; the firewall does not.
    started = host.run("docker run -d --rm --name keel-5s2-open -p 9998:8080 -e APP_MODE=chain "
                       "keel-testbed/voucher-app:1")
    assert started.rc == 0, started.stderr
    try:
        host.run("for i in $(seq 1 40); do curl -sf -o /dev/null http://127.0.0.1:9998/ && exit 0; sleep 0.5; done")
        assert probe(client, 9998) == "closed"
        assert probe(client, 443) == "open"
    finally:
        host.run("docker rm -f keel-5s2-open")


@pytest.fixture(scope="module")
def shop(client):
    return keel_verify.VoucherShop(client, API, CHAIN, cafile=ROOT_CA)


def test_an_order_on_a_becomes_valid_through_the_listener_on_b(shop):
    order = shop.order("reception-2")
    block = shop.redeem(order)
    assert shop.wait_valid(order, 60)["redeemed_in_block"] == block


def test_the_listener_runs_on_b_and_nothing_of_it_on_a(host, b):
    assert b.check_output("docker ps --format '{{.Names}}' --filter name=fivesoffice-listener") == \
        "fivesoffice-listener-1"
    names = host.check_output("docker ps --format '{{.Names}}'").split()
    assert "fivesoffice-backend-1" in names and not any("listener" in name for name in names), names


def test_the_monitoring_on_b_probes_every_site_successfully(b):
    query = "http://127.0.0.1:9090/api/v1/query?query=probe_success%7Bjob%3D%22sites%22%7D"
    result = json.loads(b.check_output(f"curl -sS --max-time 10 '{query}'"))["data"]["result"]
    assert sorted(item["metric"]["instance"] for item in result) == sorted(TEST_URLS), result
    assert {item["value"][1] for item in result} == {"1"}, result
    # The expiry of the certificate is watched too.
    expiry = b.check_output("curl -sS --max-time 10 'http://127.0.0.1:9090/api/v1/query?query="
                            "probe_ssl_earliest_cert_expiry'")
    assert len(json.loads(expiry)["data"]["result"]) == len(TEST_URLS)


def test_with_b_stopped_the_sites_and_orders_go_on_and_b_resumes(client, shop):
    # The seed's reason for the split: the listener's host down leaves the shop open.
    subprocess.run(["docker", "stop", "--time", "20", B], check=True, capture_output=True)
    try:
        for site in ("portal", "reception"):
            assert curl(client, f"https://{SITES[site]}/")[0] == 200, site
        assert curl(client, f"{API}/health")[0] == 200
        order = shop.order("while-b-is-down")
        block = shop.redeem(order)
        # Redeemed on the chain, but nobody confirms it while the listener is down.
        assert shop.status(order)["status"] == "PENDING"
    finally:
        subprocess.run(["docker", "start", B], check=True, capture_output=True)
    # B boots, its engine restarts the listener, which reaches Postgres at A's private address again
    # (B kept its own, which A's firewall lets in) and catches up from its last block.
    assert shop.wait_valid(order, 180)["redeemed_in_block"] == block
    state = shop.call("GET", "/listener")[1]
    assert state["connected"] is True, state
