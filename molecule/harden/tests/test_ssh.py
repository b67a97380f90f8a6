"""SSH from outside: keys only, no root, exclusive keys, the drop-in wins; lockout guards."""

import json
import subprocess

import pytest
from harden_helpers import ADMIN, SERVER, WORK

testinfra_hosts = [f"ansible://{SERVER}"]

PASSWORD = "Keel-test-Passw0rd"


def test_admin_logs_in_with_the_key_and_has_sudo(ssh):
    result = ssh.login(ADMIN, command="id -un; sudo -n id -un")
    assert result.rc == 0, result.stderr
    assert result.stdout.split() == [ADMIN, "root"]


def test_password_login_is_refused_even_with_the_right_password(host, ssh):
    shadow = host.check_output(f"getent shadow {ADMIN}").split(":")[1]
    host.run(f"echo '{ADMIN}:{PASSWORD}' | chpasswd")
    try:
        result = ssh.run(
            f"sshpass -p {PASSWORD} ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            f"-o ConnectTimeout=10 -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 "
            f"-o PreferredAuthentications=password,keyboard-interactive {ADMIN}@{SERVER} true"
        )
    finally:
        host.run(f"usermod -p '{shadow}' {ADMIN}")
    assert result.rc != 0
    # The server offers no method but publickey.
    assert "Permission denied (publickey)" in result.stderr, result.stderr


def test_root_login_is_refused_even_with_an_authorized_key(host, ssh):
    pub = (WORK / "admin_ed25519.pub").read_text().strip()
    host.run(f"install -d -m 0700 /root/.ssh && echo '{pub}' > /root/.ssh/authorized_keys")
    try:
        result = ssh.login("root")
    finally:
        host.run("rm -f /root/.ssh/authorized_keys")
    assert result.rc != 0
    assert "Permission denied" in result.stderr, result.stderr


def test_service_account_is_locked_without_a_shell(host):
    entry = host.user("keelapp")
    assert entry.shell == "/usr/sbin/nologin"
    assert host.check_output("getent shadow keelapp").split(":")[1].startswith("!")
    result = host.run("su - keelapp -c true")
    assert result.rc != 0
    assert "not available" in result.stdout + result.stderr


def test_sudo_drop_in_is_valid(host):
    dropin = host.file("/etc/sudoers.d/keel-admin")
    assert dropin.mode == 0o440
    assert host.run("visudo -c").rc == 0


def test_drop_in_wins_over_a_cloud_init_file(host):
    host.run("printf 'PasswordAuthentication yes\\nPermitRootLogin yes\\n' > /etc/ssh/sshd_config.d/50-cloud-init.conf")
    try:
        effective = host.check_output("sshd -T")
    finally:
        host.run("rm -f /etc/ssh/sshd_config.d/50-cloud-init.conf")
    assert "passwordauthentication no" in effective.splitlines()
    assert "permitrootlogin no" in effective.splitlines()


def test_effective_sshd_settings(host):
    effective = host.check_output("sshd -T").splitlines()
    for line in (
        "kbdinteractiveauthentication no",
        "pubkeyauthentication yes",
        "authenticationmethods publickey",
        "allowgroups sshusers",
        "x11forwarding no",
        "maxauthtries 3",
    ):
        assert line in effective, line
    kex = next(x for x in effective if x.startswith("kexalgorithms ")).split()[1].split(",")
    assert "diffie-hellman-group14-sha1" not in kex and "ecdh-sha2-nistp256" not in kex


def test_sshd_runs_as_a_service_with_its_host_keys(host):
    assert host.service("ssh").is_running
    assert host.service("ssh").is_enabled
    assert host.run("systemctl is-active ssh.socket").stdout.strip() != "active"
    assert host.file("/run/sshd").is_directory
    for kind in ("ed25519", "rsa"):
        assert host.file(f"/etc/ssh/ssh_host_{kind}_key").mode == 0o600


def test_a_key_removed_from_the_list_is_revoked(host, ssh, playbook):
    other = (WORK / "other_ed25519.pub").read_text().strip()
    host.run(f"echo '{other}' >> /home/{ADMIN}/.ssh/authorized_keys")
    assert ssh.login(ADMIN, key="other_ed25519").rc == 0, "the extra key should work before the run"
    admin = (WORK / "admin_ed25519.pub").read_text().strip()
    run = playbook(
        "apply_role.yml",
        "-e",
        json.dumps(
            {
                "harden_role": "users",
                "users_admin_authorized_keys": [admin],
                "users_service_accounts": [{"name": "keelapp", "comment": "Keel test application"}],
            }
        ),
    )
    assert run.rc == 0, run.output[-3000:]
    assert run.recap()["changed"] == 1
    assert other.split()[1] not in host.file(f"/home/{ADMIN}/.ssh/authorized_keys").content_string
    assert ssh.login(ADMIN, key="other_ed25519").rc != 0
    assert ssh.login(ADMIN).rc == 0


def test_guard_stops_when_the_admin_has_no_key(host, playbook):
    before = host.file("/etc/ssh/sshd_config.d/00-keel.conf").sha256sum
    run = playbook("apply_role.yml", "-e", json.dumps({"harden_role": "sshd", "sshd_admin_user": "keelapp"}))
    assert run.rc != 0
    assert run.says("Lockout guard: keelapp has no authorized key")
    assert run.says("Set users_admin_authorized_keys")
    assert run.recap()["changed"] == 0
    assert host.file("/etc/ssh/sshd_config.d/00-keel.conf").sha256sum == before


def test_guard_stops_when_the_admin_is_not_in_an_allowed_group(host, playbook):
    run = playbook("apply_role.yml", "-e", json.dumps({"harden_role": "sshd", "sshd_allow_groups": ["wheel"]}))
    assert run.rc != 0
    assert run.says(f"Lockout guard: {ADMIN} is in none of sshd_allow_groups (wheel)")
    assert run.recap()["changed"] == 0
    assert "allowgroups sshusers" in host.check_output("sshd -T").splitlines()


def ssh_inventory(tmp_path, user, key):
    """An inventory that reaches the server over real SSH, as user with key.

    One multiplexed SSH connection per run: a new connection per task would hit
    ufw's rate limit on port 22 (REJECT after 6 in 30 s from one address).
    """
    address = subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", SERVER],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    server = {
        "ansible_host": address,
        "ansible_user": user,
        "ansible_connection": "ssh",
        "ansible_ssh_private_key_file": str(WORK / key),
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "ansible_ssh_args": "-o ControlMaster=auto -o ControlPersist=15s",
    }
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(json.dumps({"all": {"hosts": {SERVER: server}}}))
    return str(hosts)


def test_guards_let_the_admins_own_ssh_run_through(tmp_path, playbook):
    # No false alarm: Ansible logged in over SSH as the admin, with the settings in place.
    inventory_file = ssh_inventory(tmp_path, ADMIN, "admin_ed25519")
    run = playbook("apply_role.yml", "-e", json.dumps({"harden_role": ["sshd", "ufw"]}), inventory_file=inventory_file)
    assert run.rc == 0, run.output[-3000:]
    assert run.recap()["changed"] == 0
    assert not run.says("Lockout guard")


@pytest.fixture
def ops_over_ssh(host, tmp_path):
    """Ansible logged in over SSH as ops, an sshusers member who is not the admin."""
    other = (WORK / "other_ed25519.pub").read_text().strip()
    host.run(
        "groupadd -f admins && usermod -aG admins deploy && useradd -m -G sshusers ops"
        f" && install -d -m 0700 -o ops -g ops /home/ops/.ssh && echo '{other}' > /home/ops/.ssh/authorized_keys"
        " && chown ops:ops /home/ops/.ssh/authorized_keys"
        " && echo 'ops ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/zz-test-ops && chmod 0440 /etc/sudoers.d/zz-test-ops"
    )
    yield ssh_inventory(tmp_path, "ops", "other_ed25519")
    host.run("rm -f /etc/sudoers.d/zz-test-ops; userdel -f -r ops; gpasswd -d deploy admins; groupdel admins")


@pytest.fixture
def root_over_ssh(host, tmp_path):
    """Ansible logged in over SSH as root, as on a fresh server (root key logins let in for the test)."""
    pub = (WORK / "admin_ed25519.pub").read_text().strip()
    host.run(
        f"install -d -m 0700 /root/.ssh && echo '{pub}' > /root/.ssh/authorized_keys"
        " && printf 'PermitRootLogin prohibit-password\\nAllowGroups sshusers root\\n'"
        " > /etc/ssh/sshd_config.d/00-aaa-test.conf && systemctl reload ssh"
    )
    yield ssh_inventory(tmp_path, "root", "admin_ed25519")
    host.run("rm -f /etc/ssh/sshd_config.d/00-aaa-test.conf /root/.ssh/authorized_keys && systemctl reload ssh")


@pytest.mark.parametrize(
    "extra, message",
    [
        ({}, "Ansible is logged in over SSH as root, and sshd_permit_root_login 'no' would refuse its next connection"),
        (
            {"sshd_permit_root_login": "prohibit-password"},
            "Ansible is logged in over SSH as root, who is in none of sshd_allow_groups (sshusers)",
        ),
    ],
)
def test_guard_stops_when_ansible_logs_in_as_root(host, playbook, root_over_ssh, extra, message):
    before = host.file("/etc/ssh/sshd_config.d/00-keel.conf").sha256sum
    run = playbook("apply_role.yml", "-e", json.dumps({"harden_role": "sshd", **extra}), inventory_file=root_over_ssh)
    assert run.rc != 0
    assert run.says("Lockout guard: " + message), run.output[-3000:]
    assert run.recap()["changed"] == 0
    assert host.file("/etc/ssh/sshd_config.d/00-keel.conf").sha256sum == before


def test_guard_stops_when_the_change_would_cut_ansibles_connection(host, playbook, ops_over_ssh):
    before = host.file("/etc/ssh/sshd_config.d/00-keel.conf").sha256sum
    run = playbook(
        "apply_role.yml",
        "-e",
        json.dumps({"harden_role": "sshd", "sshd_allow_groups": ["admins"]}),
        inventory_file=ops_over_ssh,
    )
    assert run.rc != 0
    assert run.says("Lockout guard: Ansible is logged in over SSH as ops, who is in none of sshd_allow_groups")
    assert run.recap()["changed"] == 0
    assert host.file("/etc/ssh/sshd_config.d/00-keel.conf").sha256sum == before


def test_ufw_guard_stops_when_the_firewall_would_cut_ansibles_connection(host, playbook, ops_over_ssh):
    before = host.check_output("ufw status")
    rules = [{"port": 22, "src": "192.0.2.0/24"}, {"port": 80}, {"port": 443}]
    run = playbook(
        "apply_role.yml",
        "-e",
        json.dumps({"harden_role": "ufw", "ufw_allowed": rules}),
        inventory_file=ops_over_ssh,
    )
    assert run.rc != 0
    assert run.says("Lockout guard: Ansible is connected over SSH from")
    assert run.recap()["changed"] == 0
    assert host.check_output("ufw status") == before


def test_ssh_rate_limit_drops_a_burst(ssh, client):
    # Last SSH test on purpose: it uses up the client's budget. Seven quick
    # connection attempts, bounded by a 3 s timeout each: ufw's limit rule
    # drops the later ones.
    result = client.run(
        f"for i in 1 2 3 4 5 6 7; do timeout 3 bash -c '</dev/tcp/{SERVER}/22' && echo open || echo dropped; done"
    )
    assert result.stdout.split()[0] == "open"
    assert "dropped" in result.stdout.split(), result.stdout
