"""A certificate really issued by the local ACME server, served by nginx, renewed."""

import re

import pytest
from harden_helpers import SERVER
from keel_verify import wait_for

testinfra_hosts = [f"ansible://{SERVER}"]

ROOT = "/root/pebble-root.pem"
CERTBOT_ENV = "REQUESTS_CA_BUNDLE=/usr/local/share/keel-test/pebble-tls-ca.pem"


@pytest.fixture(scope="module")
def pebble_root(client):
    # The root pebble issues under, from its management interface.
    client.check_output(f"curl -fsS --cacert /root/pebble-tls-ca.pem -o {ROOT} https://keel-h-pebble:15000/roots/0")
    return ROOT


@pytest.fixture(scope="module")
def page(host):
    # The site's root is the nginx role's; the page in it is the test's.
    host.check_output("echo 'served by keel-h-server over HTTPS' > /var/www/keel/index.html")


def served_serial(client, root):
    out = client.run(
        f"openssl s_client -connect {SERVER}:443 -servername {SERVER} -CAfile {root} -verify_return_error "
        "</dev/null 2>/dev/null | openssl x509 -noout -serial"
    )
    assert out.rc == 0, out.stderr
    return out.stdout.strip()


def test_certificate_was_issued_by_pebble_for_the_hosts_names(host):
    text = host.check_output("openssl x509 -in /etc/letsencrypt/live/keel-h-server/cert.pem -noout -text")
    assert re.search(r"Issuer: CN ?= ?Pebble Intermediate CA", text), text
    assert "DNS:keel-h-server" in text and "DNS:www.keel-h-server.test" in text


def test_nginx_serves_it_and_the_chain_verifies_against_pebbles_root(client, pebble_root, page):
    result = client.run(
        f"openssl s_client -connect {SERVER}:443 -servername {SERVER} -CAfile {pebble_root} "
        "-verify_return_error -verify_hostname keel-h-server </dev/null"
    )
    assert result.rc == 0, result.stderr
    assert "Verify return code: 0 (ok)" in result.stdout
    page = client.check_output(f"curl -fsS --cacert {pebble_root} https://{SERVER}/")
    assert page.strip() == "served by keel-h-server over HTTPS"


def test_only_tls_1_2_and_1_3_are_offered_server_wide(host, client):
    # Debian's nginx.conf lists TLSv1 and TLSv1.1 for servers without a list of their own.
    assert host.run("grep -E '^\\s*ssl_protocols' /etc/nginx/nginx.conf").stdout.split() == [
        "ssl_protocols", "TLSv1.2", "TLSv1.3;"]
    handshake = f"openssl s_client -connect {SERVER}:443 -servername {SERVER} </dev/null"
    assert client.run(f"{handshake} -tls1_2").rc == 0
    # The client allows TLS 1.1 at security level 0: a refusal is the server's.
    assert client.run(f"{handshake} -tls1_1 -cipher DEFAULT@SECLEVEL=0").rc != 0


def test_the_chain_does_not_verify_without_pebbles_root(client):
    assert client.run(f"curl -fsS -o /dev/null https://{SERVER}/").rc != 0


def test_http_redirects_to_https_but_serves_acme_challenges(host, client):
    headers = client.check_output(f"curl -sS -o /dev/null -w '%{{http_code}} %{{redirect_url}}' http://{SERVER}/a?b=1")
    assert headers == f"301 https://{SERVER}/a?b=1"
    host.run("echo token-ok > /var/www/letsencrypt/.well-known/acme-challenge/keel-probe")
    try:
        body = client.check_output(f"curl -fsS http://{SERVER}/.well-known/acme-challenge/keel-probe")
    finally:
        host.run("rm -f /var/www/letsencrypt/.well-known/acme-challenge/keel-probe")
    assert body.strip() == "token-ok"


def test_pebbles_ca_is_trusted_by_certbot_only(host):
    assert host.run("curl -fsS -o /dev/null https://keel-h-pebble:14000/dir").rc != 0
    env = host.check_output("systemctl show -p Environment --value certbot.service")
    assert "REQUESTS_CA_BUNDLE=/usr/local/share/keel-test/pebble-tls-ca.pem" in env


def test_renewal_is_left_to_the_distribution_timer(host):
    assert host.service("certbot.timer").is_enabled
    assert host.service("certbot.timer").is_running
    # No cron job of ours; the package's own entry does nothing under systemd.
    assert host.run("grep -rl 'certbot' /etc/cron.d /etc/crontab /var/spool/cron 2>/dev/null").stdout.split() == [
        "/etc/cron.d/certbot"
    ]
    assert "! -d /run/systemd/system" in host.file("/etc/cron.d/certbot").content_string


def test_forced_renewal_replaces_the_certificate_and_reloads_nginx(host, client, pebble_root):
    before = served_serial(client, pebble_root)
    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    # Without a terminal certbot waits a random time first; not in a test.
    renew = "certbot renew --force-renewal --no-random-sleep-on-renew --cert-name keel-h-server"
    result = host.run(f"{CERTBOT_ENV} {renew}")
    assert result.rc == 0, result.stdout + result.stderr
    # systemctl reload returns before nginx's new workers serve the new certificate.
    wait_for(lambda: served_serial(client, pebble_root) != before, 15, "nginx to serve the renewed certificate")
    hook_log = host.check_output(f"journalctl -t keel-certbot --since '{since}' --no-pager -o cat")
    assert "reloaded nginx for /etc/letsencrypt/live/keel-h-server" in hook_log
