"""testbed/awx_job.py: the rules of AWX 24.6.1 it emulates, one by one."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "testbed"))

import awx_job  # noqa: E402 - found through the line above

SPEC = {"spec": [
    {"variable": "backup", "type": "text", "required": True, "default": "latest", "min": 1, "max": 8},
    {"variable": "confirm", "type": "multiplechoice", "required": True, "default": "false",
     "choices": ["false", "true"]},
    {"variable": "databases", "type": "text", "required": False, "min": 0, "max": 20},
    {"variable": "forks", "type": "integer", "required": False, "min": 1, "max": 10},
]}


def test_answers_are_typed_as_awx_types_them():
    assert awx_job.job_extra_vars({}, SPEC, {"backup": "b1", "confirm": True})[1] == [
        "Value True for 'confirm' expected to be one of ['false', 'true']."]
    assert awx_job.job_extra_vars({}, SPEC, {"backup": ["b1"], "confirm": "true"})[1] == [
        "Value ['b1'] for 'backup' expected to be a string."]
    assert awx_job.job_extra_vars({}, SPEC, {"backup": "b1", "confirm": "true", "forks": "3"})[1] == [
        "Value 3 for 'forks' expected to be an integer."]
    assert awx_job.job_extra_vars({}, SPEC, {"backup": "a-long-name", "confirm": "true"})[1] == [
        "'backup' value a-long-name is too large (must be no more than 8)."]


def test_a_missing_required_answer_is_refused_and_an_optional_one_sends_nothing():
    extra, errors = awx_job.job_extra_vars({}, SPEC, {"confirm": "true"})
    assert errors == ["'backup' value missing"]
    extra, errors = awx_job.job_extra_vars({}, SPEC, {"backup": "b1", "confirm": "true"})
    assert errors == [] and "databases" not in extra


def test_extra_vars_are_the_templates_then_valid_defaults_then_answers():
    extra, errors = awx_job.job_extra_vars({"backup": "jt", "other": 1}, SPEC, {"confirm": "true", "backup": "b2"})
    assert errors == [] and extra == {"backup": "b2", "other": 1, "confirm": "true"}
    extra = awx_job.job_extra_vars({"backup": "jt"}, SPEC, {})[0]
    assert extra["backup"] == "latest" and extra["confirm"] == "false"


def test_the_inventory_is_a_script_that_prints_the_imported_json(tmp_path):
    data = {"all": {"hosts": ["db1"]}, "_meta": {"hostvars": {"db1": {"ansible_host": "10.0.0.5"}}}}
    script = tmp_path / "hosts"
    script.write_text(awx_job.inventory_script(data))
    printed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    assert json.loads(printed) == data


def test_file_injectors_write_root_only_files_named_in_the_env_and_extra_vars_injectors(tmp_path):
    (tmp_path / "env").mkdir()
    key = {"id": "key", "type": "string", "secret": True, "format": "ssh_private_key"}
    kind = {"inputs": {"fields": [{"id": "cert", "type": "string"}, key]},
            "injectors": {"file": {"template.cert": "{{ cert }}", "template.key": "{{ key }}"},
                          "env": {"ADMIN_CERT": "{{ tower.filename.cert }}"},
                          "extra_vars": {"msp": "Org1MSP", "admin_key_file": "{{ tower.filename.key }}"}}}
    env, args = awx_job.inject(kind, {"cert": "CERT", "key": "KEY"}, tmp_path)
    assert env["ADMIN_CERT"].startswith("/runner/env/tmp")
    written = tmp_path / "env" / Path(env["ADMIN_CERT"]).name
    assert written.read_text() == "CERT" and written.stat().st_mode & 0o777 == 0o600
    # extra_vars: a file of their own, read-only, every string !unsafe, handed on as -e @file.
    assert args[0] == "-e" and args[1].startswith("@/runner/env/tmp")
    extra = tmp_path / "env" / Path(args[1][1:]).name
    assert extra.stat().st_mode & 0o777 == 0o400
    values = yaml.safe_load(extra.read_text().replace("!unsafe ", ""))
    assert values["msp"] == "Org1MSP"
    key_file = tmp_path / "env" / Path(values["admin_key_file"]).name
    assert key_file.read_text() == "KEY\n" and key_file.stat().st_mode & 0o777 == 0o600
    assert "!unsafe 'msp': !unsafe 'Org1MSP'" in extra.read_text()
    assert awx_job.inject({"injectors": {"env": {"A": "b"}}}, {}, tmp_path) == ({"A": "b"}, [])


def test_the_command_line_and_the_prompts_answered():
    machine = {"username": "deploy", "become_method": "sudo", "become_password": "s3cret"}
    args, expect = awx_job.job_args(machine, become=True, limit="db1", vault_password="v")  # noqa: S106 - a test value
    assert args == ["-u", "deploy", "--become", "--become-method", "sudo", "--ask-become-pass", "--ask-vault-pass",
                    "-l", "db1"]
    assert expect[r"BECOME password.*:\s*?$"] == "s3cret" and expect[r"Vault password:\s*?$"] == "v"
    assert awx_job.job_args({})[0] == ["-u", "root"]


def test_the_private_data_dir_has_awxs_layout_and_modes(tmp_path):
    project = tmp_path / "checkout"
    (project / "playbooks").mkdir(parents=True)
    (project / "playbooks" / "site.yml").write_text("---\n")
    path = awx_job.private_data_dir(tmp_path, project=project, inventory={"all": {}})
    awx_job.write_job_files(path, {"a": "true"}, ["-u", "deploy"])
    assert path.stat().st_mode & 0o777 == 0o700
    assert (path / "project" / "playbooks" / "site.yml").is_file()
    assert (path / "inventory" / "hosts").stat().st_mode & 0o777 == 0o700
    assert (path / "env" / "extravars").read_text() == "!unsafe 'a': !unsafe 'true'\n"
    assert (path / "env" / "cmdline").read_text() == "-u deploy"
    assert all((path / "env" / name).stat().st_mode & 0o777 == 0o600 for name in ("extravars", "cmdline"))
    assert not (path / "env" / "passwords").exists() and (path / "cp").is_dir()


@pytest.mark.parametrize(("text", "found"), [("ok: [db1]", []), ("password is s3cret", ["s3cret"])])
def test_secrets_in_job_events_are_found(text, found):
    assert awx_job.secrets_in(text, ["s3cret", ""]) == found


def test_the_environment_puts_the_projects_collections_first():
    env = awx_job.job_env(7, 1, {"KEEL_X": "y"}, "/var/lib/awx/awx_7_x1")
    assert env["JOB_ID"] == "7" and env["KEEL_X"] == "y" and env["ANSIBLE_HOST_KEY_CHECKING"] == "False"
    # The control node's path, as AWX sets it; the job itself runs in /runner.
    assert env["AWX_PRIVATE_DATA_DIR"] == "/var/lib/awx/awx_7_x1"
    assert env["ANSIBLE_SSH_CONTROL_PATH_DIR"] == "/runner/cp"
    assert env["ANSIBLE_COLLECTIONS_PATH"].split(":")[0] == "/runner/requirements_collections"


def test_a_boolean_is_no_integer_answer():
    errors = awx_job.job_extra_vars({}, SPEC, {"backup": "b1", "confirm": "true", "forks": True})[1]
    assert errors == ["Value True for 'forks' expected to be an integer."]


def test_extra_vars_other_than_the_templates_own_are_never_templated():
    text = awx_job.extravars_text({"a": "{{ lookup('pipe', 'id') }}", "b": "x", "c": ["y", 1]}, {"b": "x"})
    # AWX's own output: keys too, as every string of a variable not trusted.
    assert text.splitlines() == ["!unsafe 'a': !unsafe '{{ lookup(''pipe'', ''id'') }}'", "b: x", "!unsafe 'c':",
                                 "- !unsafe 'y'", "- 1"]
    assert yaml.safe_load(text.replace("!unsafe ", "")) == {"a": "{{ lookup('pipe', 'id') }}", "b": "x", "c": ["y", 1]}
