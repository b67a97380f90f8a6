"""Loaded by pytest for every scenario's verifier (.config/molecule/config.yml: confcutdir).

It puts molecule/_shared on sys.path, so that tests import the shared helpers
(`from keel_verify import KafkaNode`), and gives them playbook runs as a fixture.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "_shared"))

import keel_verify  # noqa: E402 - found through the line above


@pytest.fixture(scope="session")
def run_playbook():
    """Run a playbook against Molecule's inventory, as Molecule would: keel_verify.run_playbook."""
    return keel_verify.run_playbook
