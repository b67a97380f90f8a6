"""Application logs rotate, the journal has limits, security updates install themselves."""

from harden_helpers import SERVER

testinfra_hosts = [f"ansible://{SERVER}"]


def test_application_logs_rotate_and_keep_three(host):
    # The application's log directory, as the application would make it.
    rotated = (
        "install -d -o keelapp -g keelapp -m 0750 /var/log/keelapp;"
        " for i in 1 2 3 4 5; do echo line $i >> /var/log/keelapp/app.log;"
        " chown keelapp:keelapp /var/log/keelapp/app.log;"
        " logrotate -f /etc/logrotate.d/keel-keelapp || exit 1; sleep 1.1; done; ls /var/log/keelapp"
    )
    files = host.check_output(rotated).split()
    try:
        assert "app.log" in files  # created again after each rotation
        old = [name for name in files if name.startswith("app.log-")]
        assert len(old) == 3, files
        assert any(name.endswith(".gz") for name in old), files
        log = host.file("/var/log/keelapp/app.log")
        assert (log.user, log.group, log.mode) == ("keelapp", "keelapp", 0o640)
    finally:
        host.run("rm -f /var/log/keelapp/app.log*")


def test_journal_limits_are_in_effect(host):
    config = host.check_output("systemd-analyze cat-config systemd/journald.conf")
    assert "SystemMaxUse=200M" in config
    assert host.file("/var/log/journal").is_directory  # persistent storage
    usage = host.check_output("journalctl -b -u systemd-journald --no-pager -o cat")
    assert "max 200.0M" in usage, usage


def test_security_updates_only_and_no_reboot_by_default(host):
    config = host.check_output("apt-config dump")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in config
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in config
    origins = [line for line in config.splitlines() if line.startswith("Unattended-Upgrade::Origins-Pattern::")]
    security = "origin=Debian,codename=${distro_codename}-security,label=Debian-Security"
    assert origins == [f'Unattended-Upgrade::Origins-Pattern:: "{security}";']
    assert host.service("apt-daily-upgrade.timer").is_running


def test_unattended_upgrade_sees_the_security_archive(host):
    policy = host.check_output("apt-cache policy")
    assert "bookworm-security" in policy
    run = host.run("timeout 300 unattended-upgrade --dry-run --debug")
    assert run.rc == 0, run.stderr[-2000:]
    out = run.stdout + run.stderr
    assert "Allowed origins are: origin=Debian,codename=bookworm-security,label=Debian-Security" in out
