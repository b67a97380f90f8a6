"""ufw from outside: 22/80/443 in, anything else out; owned rules, foreign rules kept."""

import json

import pytest
from harden_helpers import SERVER

testinfra_hosts = [f"ansible://{SERVER}"]


def probe(runner, port):
    # One TCP connection attempt, bounded: "open", or "closed" when dropped.
    result = runner.run(f"timeout 5 bash -c '</dev/tcp/{SERVER}/{port}' && echo open || echo closed")
    return result.stdout.strip()


@pytest.fixture
def listener_8080(host):
    # A real service on 8080 that the firewall must hide; stopped after the test.
    host.run("systemd-run --unit keel-probe-8080 --collect timeout 120 python3 -m http.server 8080")
    host.run("for i in $(seq 1 20); do ss -ltn | grep -q ':8080 ' && exit 0; sleep 0.5; done; exit 1")
    yield
    host.run("systemctl stop keel-probe-8080")


def test_ssh_port_is_reachable_from_the_client(ssh):
    assert probe(ssh, 22) == "open"


@pytest.mark.parametrize("port", [80, 443])
def test_web_ports_are_reachable_from_the_client(client, port):
    assert probe(client, port) == "open"


def test_other_listening_port_is_not_reachable(host, client, listener_8080):
    # It listens and answers locally, yet the client cannot reach it.
    assert host.run("curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:8080/").rc == 0
    assert probe(client, 8080) == "closed"


def test_firewall_is_active_with_default_deny_and_ipv6(host):
    status = host.check_output("ufw status verbose")
    assert "Status: active" in status
    assert "Default: deny (incoming), allow (outgoing), deny (routed)" in status
    for rule in ("22/tcp (v6)", "80/tcp (v6)", "443/tcp (v6)"):
        assert rule in status
    assert "LIMIT IN" in status.split("22/tcp", 1)[1].splitlines()[0]
    assert host.service("ufw").is_enabled


def test_kernel_settings_step_is_off_in_a_container(host):
    # /proc/sys is read-only here: ufw is told not to apply its sysctl file.
    assert host.run("test -w /proc/sys/net/ipv4/tcp_syncookies").rc != 0
    assert "IPT_SYSCTL=" in host.file("/etc/default/ufw").content_string.splitlines()


def test_stale_owned_rules_go_and_foreign_rules_stay(host, playbook):
    host.run("ufw allow 8081/tcp comment 'keel-managed'")  # owned by us, no longer listed
    host.run("ufw allow 9090/tcp comment 'added by hand'")  # someone else's
    try:
        run = playbook("apply_role.yml", "-e", json.dumps({"harden_role": "ufw"}))
        assert run.rc == 0, run.output[-3000:]
        status = host.check_output("ufw status")
        assert "8081/tcp" not in status
        assert "9090/tcp" in status
        assert "22/tcp" in status
    finally:
        host.run("ufw delete allow 9090/tcp; ufw delete allow 8081/tcp")
