"""Every role declares in meta/argument_specs.yml exactly the variables its defaults set."""

from pathlib import Path

import pytest
import yaml

ROLES = sorted(p for p in (Path(__file__).resolve().parents[3] / "roles").iterdir() if p.is_dir())


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_argument_specs_match_defaults(role):
    specs_file = role / "meta" / "argument_specs.yml"
    assert specs_file.exists(), f"{role.name} has no meta/argument_specs.yml"
    defaults_file = role / "defaults" / "main.yml"
    defaults = set((yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {})
    declared = set()
    for entry in yaml.safe_load(specs_file.read_text())["argument_specs"].values():
        for name, option in (entry.get("options") or {}).items():
            declared.add(name)
            assert option.get("description"), f"{role.name}: {name} has no description"
            assert option.get("type"), f"{role.name}: {name} has no type"
    assert sorted(defaults - declared) == [], f"{role.name}: defaults not declared in argument_specs"
    public = {name for name in declared - defaults if not name.startswith("_")}
    required = {
        name
        for entry in yaml.safe_load(specs_file.read_text())["argument_specs"].values()
        for name, option in (entry.get("options") or {}).items()
        if option.get("required")
    }
    assert sorted(public - required) == [], f"{role.name}: argument_specs declares options no default sets"
