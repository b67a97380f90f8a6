"""Shared by the awx scenario's tests: the scenario's work folder, and testbed/awx_job.py on sys.path."""

import os
import sys
from pathlib import Path

WORK = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "awx"
sys.path.insert(0, str(Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / "testbed"))
