"""The audits in the suite: ssh-audit's hardened policy and a floor for the Lynis hardening index."""

import os
import re
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
import ssh_audit
from harden_helpers import SERVER

testinfra_hosts = [f"ansible://{SERVER}"]

REPORT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", ".")) / ".testbed" / "harden-audit.txt"
# What the converged container reached (71 before the os_hardening, fail2ban and auditd
# roles); the README lists the suggestions Lynis still makes and why each is left.
LYNIS_FLOOR = 80
POLICY = "Hardened Debian 12 (version 2)"


def record(capsys, title, text):
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a") as out:
        out.write(f"== {title}\n{text}\n")
    with capsys.disabled():
        print(f"\n== {title}\n{text}")


@pytest.fixture(scope="module")
def ssh_audit_on_server(host):
    # ssh-audit 3.x comes from PyPI into the project's venv (requirements.txt); the package
    # is pure Python, so it is copied to the server and run there over loopback: no
    # TLS-inspected PyPI access from a container, and neither ufw's SSH limit nor
    # fail2ban (which ignores loopback) sees its probing connections.
    target = "/usr/local/lib/keel-ssh-audit"
    host.run(f"rm -rf {target} && mkdir -p {target}")
    subprocess.run(["docker", "cp", os.path.dirname(ssh_audit.__file__), f"{SERVER}:{target}/"], check=True)
    yield f"PYTHONPATH={target} python3 -m ssh_audit"
    host.run(f"rm -rf {target}")


def test_ssh_audit_hardened_debian_12_policy_passes(host, ssh_audit_on_server, capsys):
    REPORT.unlink(missing_ok=True)
    # The DH rate test would trip ufw's SSH limit, which is the limit doing its job
    # (proven in test_ssh.py); the policy needs no rate test.
    result = host.run(f"{ssh_audit_on_server} --skip-rate-test -P '{POLICY}' 127.0.0.1")
    record(capsys, f"ssh-audit {version('ssh-audit')} policy {POLICY!r}: exit {result.rc}", result.stdout.strip())
    assert result.rc == 0, result.stdout
    assert "Passed" in result.stdout


def test_lynis_hardening_index_stays_above_the_floor(host, capsys):
    # Installed for the audit only; the host is destroyed after verify.
    installed = host.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lynis")
    assert installed.rc == 0, installed.stderr
    result = host.run("timeout 600 lynis audit system --quick --no-colors")
    assert result.rc == 0, result.stderr[-2000:]
    report = host.file("/var/log/lynis-report.dat").content_string
    index = int(re.search(r"^hardening_index=(\d+)$", report, re.M).group(1))
    left = [line for line in report.splitlines() if line.startswith(("warning[]=", "suggestion[]="))]
    record(capsys, f"lynis hardening_index={index} (floor {LYNIS_FLOOR})", "\n".join(left) or "nothing left")
    assert index >= LYNIS_FLOOR
