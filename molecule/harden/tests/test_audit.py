"""Figures for the record: the Lynis hardening index and ssh-audit of the hardened host."""

import os
import re
from pathlib import Path

import pytest
from harden_helpers import SERVER

testinfra_hosts = [f"ansible://{SERVER}"]

REPORT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", ".")) / ".testbed" / "harden-audit.txt"


@pytest.fixture(scope="module")
def tools(host):
    # Installed for the audit only; the host is destroyed after verify.
    result = host.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lynis ssh-audit")
    assert result.rc == 0, result.stderr


def record(capsys, title, text):
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a") as out:
        out.write(f"== {title}\n{text}\n")
    with capsys.disabled():
        print(f"\n== {title}\n{text}")


def test_ssh_audit_finds_no_failure(host, tools, capsys):
    # Over loopback, so the client's rate-limit budget is not touched.
    result = host.run("ssh-audit -n 127.0.0.1")
    REPORT.unlink(missing_ok=True)
    warnings = [line for line in result.stdout.splitlines() if "[warn]" in line or "[fail]" in line]
    record(capsys, f"ssh-audit exit {result.rc} (0 good, 2 warnings, 3 failures)", "\n".join(warnings) or "no warnings")
    assert result.rc in (0, 2), result.stdout
    assert "[fail]" not in result.stdout


def test_lynis_hardening_index(host, tools, capsys):
    result = host.run("timeout 600 lynis audit system --quick --no-colors")
    assert result.rc == 0, result.stderr[-2000:]
    report = host.file("/var/log/lynis-report.dat").content_string
    index = int(re.search(r"^hardening_index=(\d+)$", report, re.M).group(1))
    warnings = [line for line in report.splitlines() if line.startswith("warning[]=")]
    record(capsys, f"lynis hardening_index={index}", "\n".join(warnings) or "no warnings")
    assert index >= 65
