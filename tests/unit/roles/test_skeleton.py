"""Every role's tasks/main.yml starts with its checks (tasks/validate.yml), then does the work."""

from pathlib import Path

import pytest
import yaml

ROLES = sorted(p for p in (Path(__file__).resolve().parents[3] / "roles").iterdir() if p.is_dir())
# Roles whose main is not "checks, then work", and why.
OTHER = {
    # Task files for the other roles (tasks_from); main only refuses direct use.
    "internal": "tasks/main.yml",
    # The whole role is the check of the Fabric network description: validate.yml imports main.yml.
    "fabric": "tasks/validate.yml",
}


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_main_starts_with_the_checks(role):
    if role.name in OTHER:
        assert (role / OTHER[role.name]).is_file()
        return
    assert (role / "tasks" / "validate.yml").is_file(), f"{role.name} has no tasks/validate.yml"
    first = yaml.safe_load((role / "tasks" / "main.yml").read_text())[0]
    assert first.get("ansible.builtin.import_tasks") == "validate.yml", (
        f"{role.name}: tasks/main.yml must import validate.yml first, before any task that changes the host")
