"""Every playbook checks every role's input on every host before its first change (playbooks/preflight.yml)."""

import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(ROOT, "playbooks")
ROLES = os.path.join(ROOT, "roles")
PREFIX = "keel.infra."


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def playbooks():
    """The playbooks that run roles (the restore and drill playbooks run one command and check its input first)."""
    return sorted(name for name in os.listdir(PLAYBOOKS) if name.endswith(".yml") and name != "preflight.yml"
                  and any(roles_of(play) for play in load(os.path.join(PLAYBOOKS, name))
                          if "ansible.builtin.import_playbook" not in play))


def role_name(entry):
    name = entry if isinstance(entry, str) else entry.get("role", entry.get("name"))
    return name[len(PREFIX):] if name.startswith(PREFIX) else name


def tasks_of(play):
    for section in ("pre_tasks", "tasks", "post_tasks"):
        for task in play.get(section) or []:
            yield from task.get("block", [task]) if "block" in task else [task]


def roles_of(play):
    """Roles a play runs with their main entry point: its roles list and include/import_role without tasks_from."""
    names = [role_name(entry) for entry in play.get("roles") or []]
    for task in tasks_of(play):
        for key in ("ansible.builtin.include_role", "ansible.builtin.import_role"):
            if key in task and task[key].get("tasks_from", "main") == "main":
                names.append(role_name(task[key]))
    return names


@pytest.mark.parametrize("playbook", playbooks())
def test_the_playbook_starts_with_the_preflight_of_every_role_it_runs(playbook):
    plays = load(os.path.join(PLAYBOOKS, playbook))
    first = plays[0]
    assert first.get("ansible.builtin.import_playbook") == "preflight.yml", (
        "%s must import preflight.yml first, so that no role changes a host before every input is checked" % playbook)
    declared = first["vars"]["keel_preflight"]
    for play in plays[1:]:
        for role in roles_of(play):
            assert any(entry["hosts"] == play["hosts"] and role in entry["roles"] for entry in declared), (
                "%s: the play on %r runs %s, which keel_preflight does not check there"
                % (playbook, play["hosts"], role))


@pytest.mark.parametrize("playbook", playbooks())
def test_every_role_in_a_preflight_has_a_read_only_check_and_its_spec(playbook):
    for entry in load(os.path.join(PLAYBOOKS, playbook))[0]["vars"]["keel_preflight"]:
        for role in entry["roles"]:
            assert os.path.isfile(os.path.join(ROLES, role, "tasks", "validate.yml")), role
            specs = load(os.path.join(ROLES, role, "meta", "argument_specs.yml"))["argument_specs"]
            assert "validate" in specs, "%s: no `validate` entry point in argument_specs" % role
            assert specs["validate"]["options"] == specs["main"]["options"], (
                "%s: the validate entry point must take main's options" % role)


@pytest.mark.parametrize("playbook", playbooks())
def test_every_role_carries_its_name_as_a_tag(playbook):
    """`--tags sshd` runs the input check (tagged always) and that role alone, whichever play runs it."""
    for play in load(os.path.join(PLAYBOOKS, playbook))[1:]:
        runs = [(role_name(entry), entry.get("tags") if isinstance(entry, dict) else None)
                for entry in play.get("roles") or []]
        runs += [(role_name(task[key]), task.get("tags")) for task in tasks_of(play)
                 for key in ("ansible.builtin.include_role", "ansible.builtin.import_role") if key in task]
        for role, tags in runs:
            assert role in set(play.get("tags") or []) | set(tags or []), (
                "%s: the play on %r runs %s without the tag %s" % (playbook, play["hosts"], role, role))


@pytest.mark.parametrize("playbook", playbooks())
def test_the_readme_map_names_the_playbook_and_its_roles(playbook):
    # The README's map takes a newcomer from a playbook to its roles' READMEs; it must not lose one.
    with open(os.path.join(ROOT, "README.md")) as handle:
        rows = [line for line in handle if line.startswith("| ") and f"`{playbook}`" in line]
    assert rows, f"README.md's map has no row for {playbook}"
    plays = [play for play in load(os.path.join(PLAYBOOKS, playbook)) if "ansible.builtin.import_playbook" not in play]
    missing = sorted({role for play in plays for role in roles_of(play)} - {
        role for role in os.listdir(ROLES) if f"[{role}]" in rows[0] or f" {role}," in rows[0]
        or f" {role} " in rows[0]})
    assert missing == [], f"README.md's map row for {playbook} misses {missing}"
