"""Fixtures of the hardening tests: the client host, SSH from it, playbook runs."""

import pytest
import testinfra
from harden_helpers import CLIENT, SERVER, ClientSSH, inventory, run_playbook


@pytest.fixture(scope="session")
def server():
    return testinfra.get_host(f"ansible://{SERVER}", ansible_inventory=inventory())


@pytest.fixture(scope="session")
def client():
    return testinfra.get_host(f"ansible://{CLIENT}", ansible_inventory=inventory())


@pytest.fixture(scope="session")
def ssh(client):
    return ClientSSH(client)


@pytest.fixture(scope="session")
def playbook():
    return run_playbook
