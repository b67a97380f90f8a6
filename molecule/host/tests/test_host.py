"""The test bed's host is a real systemd machine after the base role."""

import subprocess


def test_systemd_is_pid_1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state


def test_no_unit_failed(host):
    failed = host.run("systemctl list-units --failed --plain --no-legend").stdout.strip()
    assert failed == "", failed


def test_cron_runs_and_starts_at_boot(host):
    cron = host.service("cron")
    assert cron.is_running
    assert cron.is_enabled
    main_pid = host.run("systemctl show -p MainPID --value cron").stdout.strip()
    assert host.file(f"/proc/{main_pid}/comm").content_string.strip() == "cron"


def test_cron_really_runs_a_job(host):
    # Real scheduling, not just a process: a job cron picked up writes a file.
    host.run("rm -f /tmp/keel-cron-ran")
    host.run("echo '* * * * * root touch /tmp/keel-cron-ran' > /etc/cron.d/keel-probe")
    try:
        ran = host.run(
            "for i in $(seq 1 75); do [ -e /tmp/keel-cron-ran ] && exit 0; sleep 1; done; exit 1"
        )
        assert ran.rc == 0, "cron did not run the probe job within 75 s"
    finally:
        host.run("rm -f /etc/cron.d/keel-probe /tmp/keel-cron-ran")


def test_time_zone(host):
    assert host.file("/etc/localtime").linked_to == "/usr/share/zoneinfo/Europe/Berlin"
    assert host.run("date +%Z").stdout.strip() in ("CET", "CEST")


def test_base_packages(host):
    for name in ("ca-certificates", "cron", "curl", "gnupg", "tzdata"):
        assert host.package(name).is_installed, name


def test_apt_goes_through_the_proxy_set_in_base_apt_proxy(host):
    # base_apt_proxy (set for every test host) is apt's proxy, and packages really
    # come through it: the cache's own log records this host fetching the .deb.
    proxy = host.run("apt-config shell P Acquire::http::Proxy").stdout.strip()
    assert proxy == "P='http://keel-apt-cache:3142'", proxy
    assert host.file("/etc/apt/apt.conf.d/01keel-proxy").mode == 0o644
    address = host.run("hostname -I").stdout.split()[0]
    host.run("rm -f /tmp/less_*.deb")
    fetched = host.run("cd /tmp && apt-get download less")
    assert fetched.rc == 0, fetched.stderr
    log = subprocess.run(
        ["docker", "exec", "keel-apt-cache", "cat", "/var/log/apt-cacher-ng/apt-cacher.log"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert any(f"|{address}|" in line and "/less_" in line for line in log.splitlines()), address
