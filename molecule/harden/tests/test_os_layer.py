"""The operating-system layer, fail2ban and auditd on the hardened host, from inside and from the client."""

import re
import time

import pytest
from harden_helpers import ADMIN, SERVER

testinfra_hosts = [f"ansible://{SERVER}"]

SYSCTLS = "/etc/sysctl.d/90-keel-hardening.conf"


def test_kernel_settings_are_written_and_in_effect_where_the_kernel_allows(host):
    written = dict(
        line.split(" = ") for line in host.file(SYSCTLS).content_string.splitlines() if " = " in line
    )
    assert written["kernel.kptr_restrict"] == "2"
    assert written["net.ipv4.conf.all.accept_redirects"] == "0"
    if host.run("test -w /proc/sys/kernel/sysrq").rc == 0:
        for key, value in written.items():
            assert host.check_output(f"sysctl -n {key}") == value, key
    else:
        # A container: /proc/sys is the host's and read-only; the file waits for a host that applies it.
        assert host.run("sysctl -w kernel.sysrq=0").rc != 0


def test_login_defaults_core_dumps_modules_and_banner(host):
    defs = host.file("/etc/login.defs").content_string
    assert "\nUMASK\t027\n" in defs
    assert "* hard core 0" in " ".join(host.file("/etc/security/limits.d/90-keel-core.conf").content_string.split())
    assert "install usb-storage /bin/true" in host.file("/etc/modprobe.d/keel-blacklist.conf").content_string
    assert "Authorized access only" in host.file("/etc/issue.net").content_string
    assert host.file("/etc/crontab").mode == 0o600
    assert host.file(f"/home/{ADMIN}").mode == 0o750


def test_weak_local_passwords_are_refused(host):
    # pam_pwquality (minlen 14) for any local password that still exists; pwscore is its checker.
    assert host.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpwquality-tools").rc == 0
    assert host.run("echo 'Sh0rt-enough1' | pwscore").rc != 0
    assert host.run("echo 'Tq7#vLp2!xWm9@Rz' | pwscore").rc == 0


def test_auditd_runs_where_the_kernel_allows_it(host):
    rules = host.file("/etc/audit/rules.d/50-keel.rules").content_string
    assert "-w /usr/bin/sudo -p x -k sudo" in rules
    # The retention settings (the role's defaults: Debian's own), each once.
    conf = host.file("/etc/audit/auditd.conf").content_string.splitlines()
    for line in ("max_log_file = 8", "num_logs = 5", "max_log_file_action = ROTATE"):
        assert conf.count(line) == 1, line
    if host.run("auditctl -s").rc == 0:
        assert host.service("auditd").is_running
        host.run(f"su - {ADMIN} -c 'sudo -n true'")
        assert host.run("ausearch -k sudo -ui $(id -u deploy) --start recent").rc == 0
    else:
        # A container: the kernel refuses audit control; the unit is off instead of failing at boot.
        assert not host.service("auditd").is_enabled
        assert host.run("systemctl is-failed auditd").stdout.strip() != "failed"


def banned(host):
    return host.check_output("fail2ban-client get sshd banip")


def wait_for(check, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(1)
    return check()


@pytest.fixture
def client_address(client):
    return client.check_output("hostname -I").split()[0]


@pytest.fixture
def quick_bans(host):
    # At run time only, so that a test does not wait an hour: 3 failures ban for 20 s.
    host.run("fail2ban-client set sshd maxretry 3 && fail2ban-client set sshd bantime 20")
    yield
    host.run("fail2ban-client unban --all; fail2ban-client reload sshd")


def fail_logins(ssh, times):
    for _attempt in range(times):
        ssh.run(f"ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                f"-o ConnectTimeout=5 nosuchuser@{SERVER} true")


def test_fail2ban_spares_an_allow_listed_address(host, ssh, client_address, quick_bans):
    assert "127.0.0.0/8" in host.check_output("fail2ban-client get sshd ignoreip")
    host.run(f"fail2ban-client set sshd addignoreip {client_address}")
    try:
        fail_logins(ssh, 4)
        time.sleep(2)
        assert client_address not in banned(host)
        assert ssh.login(ADMIN).rc == 0
    finally:
        host.run(f"fail2ban-client set sshd delignoreip {client_address}")


def test_fail2ban_bans_a_burst_through_ufw_and_the_ban_expires(host, ssh, client_address, quick_bans):
    fail_logins(ssh, 3)
    assert wait_for(lambda: client_address in banned(host), 20), "the burst was not banned"
    # fail2ban lists the address as banned before its action has put the rule into ufw.
    rejected = rf"REJECT(\s+IN)?\s+{re.escape(client_address)}\b"
    assert wait_for(lambda: re.search(rejected, host.check_output("ufw status")), 10), host.check_output("ufw status")
    probe = ssh.run(f"timeout 5 bash -c '</dev/tcp/{SERVER}/22' && echo open || echo refused")
    assert probe.stdout.strip() == "refused"
    assert wait_for(lambda: client_address not in banned(host), 40), "the ban did not expire"
    # Likewise on the way out: the address leaves the list before the unban action has deleted the rule.
    assert wait_for(lambda: not re.search(rejected, host.check_output("ufw status")), 20), \
        host.check_output("ufw status")
    assert ssh.login(ADMIN).rc == 0
