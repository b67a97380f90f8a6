"""The 5SOffice MVP on two VPS: Postgres reachable from B alone, the order flow across both, and B stopped.

A (keel-5s2-a) runs nginx, the portals, the backend and Postgres; B (keel-5s2-b) the listener and the
monitoring. The client (keel-5s2-client) reaches them as a customer's browser or another host would.
What both layouts share (the security baseline, SSH, the certificates, backups) is proven by the
one-VPS scenario; these tests prove what the split adds.
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
TEST = yaml.safe_load((SCENARIO.parent / "fivesoffice" / "vars" / "test.yml").read_text())
A, B, CLIENT = "keel-5s2-a", "keel-5s2-b", "keel-5s2-client"
SITES = {site["name"]: site["server_names"][0] for site in TEST["nginx_sites"]}
API = f"https://{SITES['api']}"
ROOT_CA = "/usr/local/share/keel-test/pebble-root.pem"
CHAIN = "http://keel-5s2-chain:8080"
TEST_URLS = yaml.safe_load((SCENARIO / "vars" / "two_vps.yml").read_text())["fivesoffice_monitoring_urls"]

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
    # Published on A's private address, past ufw's input rules: DOCKER-USER holds the same list.
    assert probe(b, 5432) == "open"
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


def test_an_order_on_a_becomes_valid_through_the_listener_on_b(client):
    code, order = call(client, "POST", f"{API}/orders", {"site": "reception-2"})
    assert code == 201 and order["status"] == "PENDING", order
    redeem = json.dumps({"order_hash": order["order_hash"]})
    block = json.loads(client.check_output(f"curl -sS -X POST --data {shlex.quote(redeem)} {CHAIN}/redeem"))["block"]

    def valid_order():
        answer = call(client, "GET", f"{API}/orders/{order['order_hash']}")[1]
        return answer if answer["status"] == "VALID" else None

    assert wait_for(valid_order, 60, "the order to become VALID")["redeemed_in_block"] == block


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
