"""Every definition under awx/vars/ as AWX would take it, checked offline (awx_rules.py says which rules).

Each item is checked against the argument spec of the awx.awx module that awx/apply.yml gives it to (read
once with `ansible-doc --json`), then against AWX's own rules, then against this repository: the playbooks
and inventory folders it names exist, every playbook has a job template, and every survey variable and
every variable a credential injects is one the playbook's roles take (their meta/argument_specs.yml) or
one the playbook reads itself, with a question type whose answer fits it.
"""

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import awx_rules as rules
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
AWX = ROOT / "awx"
# controller_* variable -> the awx.awx module awx/apply.yml applies its items with.
MODULES = {
    "controller_organizations": "organization",
    "controller_credential_types": "credential_type",
    "controller_execution_environments": "execution_environment",
    "controller_projects": "project",
    "controller_credentials": "credential",
    "controller_inventories": "inventory",
    "controller_inventory_sources": "inventory_source",
    "controller_templates": "job_template",
}
# preflight.yml runs inside every other playbook; alone it checks nothing.
NO_TEMPLATE = {"preflight.yml"}
INCLUDES = ("ansible.builtin.include_role", "ansible.builtin.import_role")


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


DEFS = {}
for _file in sorted((AWX / "vars").glob("*.yml")):
    DEFS.update(load(_file))


@cache
def module_options():
    """Each module's options as ansible-doc shows them (awx.awx ships with the ansible package)."""
    if not shutil.which("ansible-doc"):
        pytest.skip("ansible-doc is not on PATH")
    names = ["awx.awx." + module for module in MODULES.values()]
    out = subprocess.run(["ansible-doc", "--json", *names], capture_output=True, text=True, check=True).stdout
    return {name.split(".")[-1]: doc["doc"]["options"] for name, doc in json.loads(out).items()}


def items(variable):
    return [(variable, item) for item in DEFS.get(variable, [])]


ALL_ITEMS = [pair for variable in MODULES for pair in items(variable)]
CREDENTIAL_TYPES = {t["name"]: t for t in DEFS["controller_credential_types"]}
CREDENTIALS = {c["name"]: c for c in DEFS["controller_credentials"]}
TEMPLATES = DEFS["controller_templates"]


def ids(pairs):
    return ["%s:%s" % (variable.split("_", 1)[1], item["name"]) for variable, item in pairs]


def test_every_file_holds_only_controller_variables():
    assert set(DEFS) == set(MODULES)


@pytest.mark.parametrize(("variable", "item"), ALL_ITEMS, ids=ids(ALL_ITEMS))
def test_item_fits_its_awx_module(variable, item):
    assert rules.module_errors(item, module_options()[MODULES[variable]]) == []


@pytest.mark.parametrize("variable", list(MODULES))
def test_apply_passes_every_key_the_definitions_use(variable):
    """A key that awx/apply.yml does not pass on would be dropped without a word."""
    module = "awx.awx." + MODULES[variable]
    tasks = [task for task in load(AWX / "apply.yml")[0]["tasks"] if module in task]
    assert len(tasks) == 1 and tasks[0]["loop"] == "{{ %s }}" % variable
    used = {key for item in DEFS[variable] for key in item}
    assert sorted(used - set(tasks[0][module])) == []


@pytest.mark.parametrize(("variable", "item"), ALL_ITEMS, ids=ids(ALL_ITEMS))
def test_references_name_defined_items(variable, item):
    names = {v: {i["name"] for i in DEFS[v]} for v in MODULES}
    refs = {"organization": "controller_organizations", "project": "controller_projects",
            "source_project": "controller_projects", "inventory": "controller_inventories",
            "execution_environment": "controller_execution_environments",
            "default_environment": "controller_execution_environments"}
    for key, target in refs.items():
        if key in item:
            assert item[key] in names[target], "%s %r is not defined in awx/vars/" % (key, item[key])


@pytest.mark.parametrize("credential_type", list(CREDENTIAL_TYPES.values()), ids=list(CREDENTIAL_TYPES))
def test_credential_type_follows_awx_rules(credential_type):
    assert rules.credential_type_errors(credential_type) == []


@pytest.mark.parametrize("credential", list(CREDENTIALS.values()), ids=list(CREDENTIALS))
def test_credential_fits_its_type_and_holds_placeholders_only(credential):
    assert rules.credential_errors(credential, CREDENTIAL_TYPES) == []


@pytest.mark.parametrize("source", DEFS["controller_inventory_sources"],
                         ids=[s["name"] for s in DEFS["controller_inventory_sources"]])
def test_inventory_source_path_is_an_inventory_of_the_project(source):
    folder = ROOT / source["source_path"]
    assert (folder / "hosts.yml").is_file(), "%s has no hosts.yml" % source["source_path"]


def test_every_example_inventory_is_imported():
    wanted = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "inventories").glob("**/hosts.yml")}
    assert wanted == {s["source_path"] for s in DEFS["controller_inventory_sources"]}


def test_every_playbook_has_one_job_template():
    playbooks = sorted(p.name for p in (ROOT / "playbooks").glob("*.yml") if p.name not in NO_TEMPLATE)
    assert sorted(Path(t["playbook"]).name for t in TEMPLATES) == playbooks
    assert all((ROOT / t["playbook"]).is_file() and t["playbook"].startswith("playbooks/") for t in TEMPLATES)


def role_options(name, entry_point="main"):
    specs = load(ROOT / "roles" / name / "meta" / "argument_specs.yml")["argument_specs"]
    return (specs.get(entry_point) or specs["main"]).get("options") or {}


@cache
def playbook_inputs(playbook):
    """(options of the roles the playbook runs, its text with what it imports, its play vars)."""
    options, text, play_vars = {}, "", {}
    path = ROOT / "playbooks" / playbook
    text += path.read_text()
    for play in load(path):
        if "ansible.builtin.import_playbook" in play:
            imported = playbook_inputs(play["ansible.builtin.import_playbook"])
            options.update(imported[0])
            text += imported[1]
            play_vars.update(imported[2])
            for entry in (play.get("vars") or {}).get("keel_preflight", []):
                for role in entry["roles"]:
                    options.update(role_options(role))
            continue
        play_vars.update(play.get("vars") or {})
        for entry in play.get("roles") or []:
            options.update(role_options(entry["role"].split(".")[-1]))
        for task in play.get("tasks") or []:
            for key in INCLUDES:
                if key in task:
                    options.update(role_options(task[key]["name"].split(".")[-1], task[key].get("tasks_from", "main")))
    return options, text, play_vars


def fit_errors(playbook, question):
    options, text, play_vars = playbook_inputs(playbook)
    variable = question["variable"]
    if variable in options:
        return rules.question_fit_errors(question, option=options[variable])
    if not re.search(r"\b%s\b" % re.escape(variable), text):
        return ["%r is neither an option of the playbook's roles nor read by %s" % (variable, playbook)]
    name = re.escape(variable)
    # Checked as true or false on purpose (the input rule boolean) before it is read with | bool.
    reads_as_bool = bool(re.search(r"\b%s \| bool\b" % name, text)) and bool(
        re.search(r"\['%s', %s, 'boolean'\]" % (name, name), text))
    reads_as_list = bool(re.search(r"\b%s \| keel\.infra\.answer_list\b" % name, text))
    return rules.question_fit_errors(question, play_default=play_vars.get(variable), reads_as_bool=reads_as_bool,
                                     reads_as_list=reads_as_list)


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"] for t in TEMPLATES])
def test_survey_follows_awx_rules_and_fits_the_playbook(template):
    if not template.get("survey_enabled"):
        assert "survey_spec" not in template
        return
    assert rules.survey_errors(template["survey_spec"]) == []
    playbook = Path(template["playbook"]).name
    assert [e for q in template["survey_spec"]["spec"] for e in fit_errors(playbook, q)] == []


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"] for t in TEMPLATES])
def test_template_credentials_one_per_type_and_their_variables_fit(template):
    assert rules.template_credential_errors(template["credentials"], CREDENTIALS, CREDENTIAL_TYPES) == []
    assert [c for c in template["credentials"] if CREDENTIALS[c]["credential_type"] == "Machine"], (
        "every job logs in with a Machine credential")
    options, text, _play_vars = playbook_inputs(Path(template["playbook"]).name)
    for name in template["credentials"]:
        injected = CREDENTIAL_TYPES.get(CREDENTIALS[name]["credential_type"], {}).get("injectors", {})
        for variable in injected.get("extra_vars", {}):
            assert variable in options or re.search(r"\b%s\b" % variable, text), (
                "%s injects %s, which %s does not read" % (name, variable, template["playbook"]))


@pytest.mark.parametrize(("playbook", "question"), [
    # A list: an integer is no list, and only a text is split into items (keel.infra.answer_list).
    ("postgres_restore.yml", {"variable": "postgres_restore_databases", "type": "integer"}),
    # A role's boolean: "false" from a survey is a non-empty string.
    ("fabric.yml", {"variable": "fabric_explorer_enabled", "type": "multiplechoice", "choices": ["false", "true"]}),
    ("harden.yml", {"variable": "postgres_restore_confirm", "type": "text"}),
])
def test_questions_that_would_break_the_playbook_are_refused(playbook, question):
    assert fit_errors(playbook, {"question_name": "Q", "required": False, **question}) != []
