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


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_required_options_have_no_default(role):
    # Found in review: compose_stack_name and postgres_superuser_password were required with a default of "",
    # so the argument spec never asked for them and the role's own check had to.
    defaults_file = role / "defaults" / "main.yml"
    defaults = set((yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {})
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    both = sorted({name for entry in specs.values() for name, option in (entry.get("options") or {}).items()
                   if option.get("required") and name in defaults})
    assert both == [], f"{role.name}: required options with a default (never asked for): {both}"
