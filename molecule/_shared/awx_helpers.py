"""Shared by the tests of the scenarios whose jobs run the way AWX runs them (awx, fabric_awx): the work
folder molecule/_shared/awx_side.yml made, testbed/awx_job.py on sys.path, the first launch as a fixture,
and everything a job leaves for AWX to show and keep."""

import json
import os
import sys
from pathlib import Path

import pytest

WORK = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "awx"
sys.path.insert(0, str(Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / "testbed"))


@pytest.fixture(scope="module")
def launch():
    """The first job's launch (the scenario's converge.yml wrote it), which the tests launch again with changes."""
    return json.loads((WORK / "launch.json").read_text())


@pytest.fixture(scope="module")
def first_job():
    """What converge.yml's launch returned."""
    return json.loads((WORK / "first_job.json").read_text())


def job_text(result):
    """Everything the job leaves for AWX to show and keep: its events, stdout and artifacts."""
    files = [path for path in Path(result["artifacts"]).rglob("*") if path.is_file()]
    return "\n".join(path.read_text(errors="replace") for path in files)
