"""Fixtures of the awx scenario's tests: the first job's launch (converge.yml wrote it), which the tests
launch again with changes."""

import json

import pytest
from awx_helpers import WORK


@pytest.fixture(scope="module")
def launch():
    return json.loads((WORK / "launch.json").read_text())
