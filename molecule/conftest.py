"""Helpers for Molecule's testinfra tests: run the scenario's playbooks again from a test."""

import os
import subprocess

import pytest


class PlaybookRun:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr

    def recap(self, host):
        """The PLAY RECAP counters of one host, e.g. {'ok': 12, 'changed': 1, ...}."""
        for line in self.output.splitlines():
            if line.startswith(host + " ") and "ok=" in line:
                return {k: int(v) for k, v in (item.split("=") for item in line.split(":", 1)[1].split())}
        raise AssertionError(f"no recap for {host} in:\n{self.output[-3000:]}")


@pytest.fixture(scope="session")
def run_playbook():
    """Run a playbook of the scenario against Molecule's inventory, as Molecule would."""
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]

    def run(playbook, *args, timeout=900):
        proc = subprocess.run(
            ["ansible-playbook", "-i", inventory, playbook, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        return PlaybookRun(proc)

    return run
