"""A job run the way AWX 24.6.1 runs one, without AWX: the rules below are read from its source.

- Survey answers: awx/main/models/mixins.py, SurveyJobTemplateMixin._survey_element_validation (types and
  limits of each answer, required questions) and _update_unified_job_kwargs (extra variables: the template's,
  then the survey's valid defaults, then the answers).
- The private data dir: awx/main/tasks/jobs.py, BaseTask.build_private_data_dir (0700, inventory/ and env/),
  write_private_data_file (files 0600), write_inventory_file (the inventory as a Python script, 0700, that prints
  the JSON of `ansible-inventory --list --export`), _write_extra_vars_file (env/extravars, YAML).
- The command line: RunJob.build_args (-u the machine credential's user, root without one; --become,
  --become-method, --become-user, --ask-become-pass, --ask-vault-pass, --check, --diff, -l, -t) and the prompts
  answered: RunJob.get_password_prompts with create_expect_passwords_data_struct.
- Credentials of custom types: awx/main/models/credential.py, CredentialType.inject_credential (file injectors
  rendered into env/tmp* files 0600, whose in-container paths are tower.filename[.label]; env injectors rendered
  with the inputs and tower.filename; extra_vars injectors rendered likewise into an env/tmp* file of their own,
  0400, every string `!unsafe`, given to ansible-playbook as `-e @<its path>` after the job's arguments).
- The machine credential's key goes to ssh-agent (BaseTask.build_private_data_files: the ssh namespace's
  key is never written to a file of the private data dir; ansible-runner's ssh_key).
- The environment: BaseTask.build_env (the settings' ANSIBLE_* of awx/settings/defaults.py), RunJob.build_env
  (JOB_ID, INVENTORY_ID, ANSIBLE_RETRY_FILES_ENABLED, MAX_EVENT_RES, ANSIBLE_SSH_CONTROL_PATH_DIR and the
  path_vars that put the project's requirements_collections first).
- The inventory: RunInventoryUpdate.build_args (`ansible-inventory --list --export -i <source>` inside the
  execution environment, with no vault password) and write_inventory_file.
- The run: awx/main/tasks/receptor.py, AWXReceptorJob.transmit and processor (ansible_runner.interface.run
  with streamer='transmit' into the worker, and streamer='process' reading its output back); on a container
  group the worker is `ansible-runner worker --private-data-dir=/runner` inside the execution environment.

Run as a script, `launch SPEC.json` launches one job and prints its result as JSON (see launch()).
"""

import argparse
import itertools
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import ansible_runner
import yaml
from jinja2 import sandbox

RUNNER_DIR = "/runner"  # where the private data dir is inside the execution environment
PROMPTS = {  # RunJob.get_password_prompts, sudo and su among PRIVILEGE_ESCALATION_METHODS
    r"Enter passphrase for .*:\s*?$": "ssh_key_unlock",
    r"Bad passphrase, try again for .*:\s*?$": "",
    r"sudo password.*:\s*?$": "become_password",
    r"SUDO password.*:\s*?$": "become_password",
    r"su password.*:\s*?$": "become_password",
    r"SU password.*:\s*?$": "become_password",
    r"BECOME password.*:\s*?$": "become_password",
    r"SSH password:\s*?$": "ssh_password",
    r"Password:\s*?$": "ssh_password",
    r"Vault password:\s*?$": "vault_password",
}


def _choices(question):
    choices = question.get("choices") or []
    if isinstance(choices, str):
        choices = [line for line in choices.splitlines() if line.strip()]
    return choices


def _length_errors(question, value):
    variable, errors = question["variable"], []
    if question.get("min") not in ("", None) and len(value) < int(question["min"]):
        errors.append("'%s' value %s is too small (length is %s must be at least %s)."
                      % (variable, value, len(value), question["min"]))
    if question.get("max") not in ("", None) and len(value) > int(question["max"]):
        errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, question["max"]))
    return errors


def _number_errors(question, value, kind):
    variable = question["variable"]
    # AWX compares type() here, so a boolean (a subclass of int) is no number.
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        return ["Value %s for '%s' expected to be an integer." % (value, variable)]
    if kind is float and (isinstance(value, bool) or not isinstance(value, (float, int))):
        return ["Value %s for '%s' expected to be a numeric type." % (value, variable)]
    errors = []
    if question.get("min") not in ("", None) and value < kind(question["min"]):
        errors.append("'%s' value %s is too small (must be at least %s)." % (variable, value, question["min"]))
    if question.get("max") not in ("", None) and value > kind(question["max"]):
        errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, question["max"]))
    return errors


def _typed_errors(question, value):
    variable, kind = question["variable"], question["type"]
    if kind in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return ["Value %s for '%s' expected to be a string." % (value, variable)]
        return _length_errors(question, value)
    if kind in ("integer", "float"):
        return _number_errors(question, value, int if kind == "integer" else float)
    if kind == "multiselect" and not isinstance(value, list):
        return ["'%s' value is expected to be a list." % variable]
    items = value if kind == "multiselect" else [value] if kind == "multiplechoice" else []
    return ["Value %s for '%s' expected to be one of %s." % (item, variable, _choices(question))
            for item in items if item not in _choices(question)]


def answer_errors(question, answers):
    """AWX's message for each answer that breaks its question (_survey_element_validation)."""
    if question["variable"] not in answers:
        return ["'%s' value missing" % question["variable"]] if question.get("required") else []
    return _typed_errors(question, answers[question["variable"]])


def job_extra_vars(template_vars, survey_spec, answers):
    """(extra variables of the job, errors): the template's, the survey's valid defaults, then the answers."""
    spec = (survey_spec or {}).get("spec", [])
    errors = [error for question in spec for error in answer_errors(question, answers)]
    result = dict(template_vars or {})
    for question in spec:
        default = question.get("default")
        if default is not None and not answer_errors(question, {question["variable"]: default}):
            result[question["variable"]] = default
    result.update(answers)
    return result, errors


def inventory_script(data):
    """The inventory file AWX writes: a Python script that prints the imported inventory's JSON."""
    return "#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(data)


def _write(path, text, mode=0o600):
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.touch(mode=mode, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def inject(credential_type, inputs, private_data_dir, container_dir=RUNNER_DIR):
    """(env, args) of one credential of a custom type: its file injectors written under env/, its extra_vars
    injectors into an env/ file of their own that args (`-e @file`) hand to ansible-playbook. Paths are given
    as the job sees them, under container_dir (the private data dir itself for a run outside a container)."""
    namespace = {key: value for key, value in inputs.items() if isinstance(value, bool) or len(value)}
    for field in (credential_type.get("inputs") or {}).get("fields", []):
        if field.get("type") == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = False
        if field.get("format") == "ssh_private_key" and not str(namespace.get(field["id"], "\n")).endswith("\n"):
            namespace[field["id"]] += "\n"
    injectors = credential_type.get("injectors") or {}
    render = sandbox.ImmutableSandboxedEnvironment()
    files = {}
    for label, template in (injectors.get("file") or {}).items():
        files[label] = _env_file(private_data_dir, container_dir, render.from_string(template).render(**namespace),
                                 0o600)
    if files:
        single = [label for label in files if "." not in label]
        filename = files[single[0]] if single else {label.split(".", 1)[1]: path for label, path in files.items()}
        namespace["tower"] = {"filename": filename}
    env = {name: render.from_string(template).render(**namespace)
           for name, template in (injectors.get("env") or {}).items()}
    extra = {name: render.from_string(template).render(**namespace)
             for name, template in (injectors.get("extra_vars") or {}).items()}
    args = ["-e", "@" + _env_file(private_data_dir, container_dir, extravars_text(extra), 0o400)] if extra else []
    return env, args


def _env_file(private_data_dir, container_dir, text, mode):
    """A file of the credential's under env/ (tempfile.mkstemp), returned as its path inside the container."""
    handle, path = tempfile.mkstemp(dir=Path(private_data_dir) / "env")
    os.close(handle)
    _write(Path(path), text, mode=mode)
    return "%s/env/%s" % (container_dir, Path(path).name)  # get_incontainer_path


def job_args(machine, *, become=False, check=False, diff=False, limit="", tags="", vault_password=None):
    """ansible-playbook's arguments and the prompts' answers (RunJob.build_args, get_password_prompts)."""
    passwords = {}
    if machine.get("become_password"):
        passwords["become_password"] = machine["become_password"]
    if machine.get("ssh_key_unlock"):
        passwords["ssh_key_unlock"] = machine["ssh_key_unlock"]
    if vault_password is not None:
        passwords["vault_password"] = vault_password
    args = ["--check"] if check else []
    args += ["-u", machine.get("username") or "root"]
    args += ["--become"] if become else []
    args += ["--diff"] if diff else []
    if machine.get("become_method"):
        args += ["--become-method", machine["become_method"]]
    if machine.get("become_username"):
        args += ["--become-user", machine["become_username"]]
    args += ["--ask-become-pass"] if "become_password" in passwords else []
    args += ["--ask-vault-pass"] if "vault_password" in passwords else []
    args += ["-l", limit] if limit else []
    args += ["-t", tags] if tags else []
    expect = {prompt: passwords.get(key, "") or "" for prompt, key in PROMPTS.items()}
    return args, expect


def job_env(job_id, inventory_id, env=None, private_data_dir=RUNNER_DIR):
    """The job's environment: AWX's settings, RunJob's own, then the credentials' (env), then the paths.

    AWX_PRIVATE_DATA_DIR is the private data dir where AWX made it, on the control node (BaseTask.build_env),
    not where the job sees it (/runner)."""
    result = {
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False",
        "ANSIBLE_FORCE_COLOR": "True",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
        "AWX_PRIVATE_DATA_DIR": str(private_data_dir),
        "JOB_ID": str(job_id),
        "INVENTORY_ID": str(inventory_id),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "MAX_EVENT_RES": "700000",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": RUNNER_DIR + "/cp",
    }
    result.update(env or {})
    collections = [RUNNER_DIR + "/requirements_collections", "~/.ansible/collections", "/usr/share/ansible/collections"]
    result["ANSIBLE_COLLECTIONS_PATH"] = result["ANSIBLE_COLLECTIONS_PATHS"] = ":".join(collections)
    return result


def private_data_dir(root, *, project, inventory, collections=None):
    """Make the job's private data dir under root as AWX does; return its path.

    project: the folder copied as project/ (AWX copies the project's checkout); inventory: the imported
    inventory's JSON; collections: a folder holding ansible_collections/, copied as requirements_collections/
    (AWX copies the project's collection cache). The credentials' files come next (inject), then the job's
    variables and command line (write_job_files).
    """
    path = Path(tempfile.mkdtemp(prefix="awx_job_", dir=root))
    path.chmod(stat.S_IRWXU)
    for sub in ("inventory", "env", "cp"):
        (path / sub).mkdir(mode=0o700)
    shutil.copytree(project, path / "project", symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".venv", ".testbed"))
    if collections:
        shutil.copytree(collections, path / "requirements_collections", symlinks=True)
    _write(path / "inventory" / "hosts", inventory_script(inventory), mode=0o700)
    return path


class _UnsafeDumper(yaml.SafeDumper):
    """Every string as `!unsafe`, which Ansible never templates."""

    def represent_str(self, data):
        return self.represent_scalar("!unsafe", data)


_UnsafeDumper.add_representer(str, _UnsafeDumper.represent_str)


def extravars_text(extra_vars, trusted=None):
    """env/extravars as AWX writes it (ALLOW_JINJA_IN_EXTRA_VARS 'template', its default): a variable is
    written plainly only where the template's own extra_vars hold it with the same value; every other one
    (survey answers, launch-time values, credentials' extra_vars) has its strings marked `!unsafe`, so Jinja
    in an answer is never evaluated (jobs.py RunJob.build_extra_vars_file, awx/main/utils/safe_yaml.py)."""
    trusted = trusted or {}
    parts = []
    for name, value in extra_vars.items():
        dumper = yaml.SafeDumper if name in trusted and trusted[name] == value else _UnsafeDumper
        parts.append(yaml.dump({name: value}, Dumper=dumper, default_flow_style=False))
    return "".join(parts)


def write_job_files(path, extra_vars, args, trusted=None):
    """env/extravars (see extravars_text) and env/cmdline, 0600. Passwords, the environment and the SSH key
    are not written: AWX hands them to ansible-runner as arguments (suppress_env_files)."""
    _write(path / "env" / "extravars", extravars_text(extra_vars, trusted))
    _write(path / "env" / "cmdline", " ".join(shlex.quote(arg) for arg in args))


def secrets_in(text, secrets):
    """The secrets that appear in text (job events must hold none)."""
    return [secret for secret in secrets if secret and secret in text]


def import_inventory(project, source, image, network):
    """The inventory as AWX imports it: ansible-inventory --list --export in the EE, no vault password.

    Returns (inventory JSON or None, the import's error output).
    """
    command = ["docker", "run", "--rm", "--network", network, "-v", "%s:%s/project:ro" % (project, RUNNER_DIR),
               "-e", "ANSIBLE_INVENTORY_UNPARSED_FAILED=True", image,
               "timeout", "300", "ansible-inventory", "--list", "--export",
               "-i", "%s/project/%s" % (RUNNER_DIR, source)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return (json.loads(done.stdout) if done.returncode == 0 else None), done.stderr


def run_job(path, *, ident, playbook, image, network, passwords, env, ssh_key=None, timeout=1800):
    """ansible-runner transmit | worker (inside the EE container) | process; returns the Runner of process."""
    params = {"private_data_dir": str(path), "ident": ident, "playbook": playbook, "passwords": passwords,
              "envvars": env, "suppress_env_files": True}
    if ssh_key:
        params["ssh_key"] = ssh_key
    worker = subprocess.Popen(  # noqa: S603 - a fixed command
        ["docker", "run", "--rm", "-i", "--network", network, image,
         "timeout", str(timeout), "ansible-runner", "worker", "--private-data-dir=" + RUNNER_DIR],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def transmit():
        try:
            ansible_runner.run(streamer="transmit", _output=worker.stdin, **params)
        finally:
            worker.stdin.close()

    sender = threading.Thread(target=transmit, daemon=True)
    sender.start()
    result = ansible_runner.run(streamer="process", quiet=True, _input=worker.stdout, **params)
    sender.join(60)
    worker.wait(60)
    return result


def _template(project, name):
    templates = yaml.safe_load((Path(project) / "awx/vars/templates.yml").read_text())["controller_templates"]
    return next(template for template in templates if template["name"] == name)


def _credential_type(project, name):
    types = yaml.safe_load((Path(project) / "awx/vars/credential_types.yml").read_text())
    return next(kind for kind in types["controller_credential_types"] if kind["name"] == name)


def launch(spec):
    """Launch one job template as AWX would; spec is a dict:

    template (its name in awx/vars/templates.yml), answers (the survey's), project (the checkout),
    inventory_source (a path in it), limit, machine ({username, ssh_key_data, become_password,
    become_method}), vault_password, credentials ([{type, inputs}], custom types of
    awx/vars/credential_types.yml), image, network, collections, work (where private data dirs go).
    Returns {status, rc, errors, changed, failures, private_data_dir, artifacts, stdout}: status 'refused' when AWX
    would refuse the launch (nothing runs), 'inventory failed' when the import fails.
    """
    template = _template(spec["project"], spec["template"])
    extra_vars, errors = job_extra_vars(template.get("extra_vars"), template.get("survey_spec"),
                                        spec.get("answers", {}))
    if errors:
        return {"status": "refused", "rc": None, "errors": errors}
    inventory, stderr = import_inventory(spec["project"], spec["inventory_source"], spec["image"], spec["network"])
    if inventory is None:
        return {"status": "inventory failed", "rc": None, "errors": [stderr]}
    root = Path(spec["work"])
    root.mkdir(parents=True, exist_ok=True)
    ident = str(next(_IDENTS))
    path = private_data_dir(root, project=spec["project"], inventory=inventory, collections=spec.get("collections"))
    machine = spec.get("machine", {})
    args, passwords = job_args(machine, become=template.get("become_enabled", False),
                               check=template.get("job_type") == "check", diff=template.get("diff_mode", False),
                               limit=spec.get("limit", template.get("limit", "")),
                               tags=spec.get("job_tags", template.get("job_tags", "")),
                               vault_password=spec.get("vault_password"))
    env = {}
    for credential in spec.get("credentials", []):
        more_env, more_args = inject(_credential_type(spec["project"], credential["type"]), credential["inputs"], path)
        env.update(more_env)
        args.extend(more_args)
    extra_vars.update({"awx_job_id": int(ident), "tower_job_id": int(ident),  # RunJob's awx_meta_vars
                       "awx_job_template_name": template["name"], "tower_job_template_name": template["name"],
                       "awx_job_launch_type": "manual", "tower_job_launch_type": "manual"})
    write_job_files(path, extra_vars, args, trusted=template.get("extra_vars"))
    result = run_job(path, ident=ident, playbook=template["playbook"], image=spec["image"], network=spec["network"],
                     passwords=passwords, env=job_env(ident, 1, env, path), ssh_key=machine.get("ssh_key_data"))
    artifacts = Path(result.artifact_dir)
    events = [json.loads(event.read_text()) for event in sorted((artifacts / "job_events").glob("*.json"))]
    stats = next((event["event_data"] for event in events if event.get("event") == "playbook_on_stats"), {})
    stdout, rc = artifacts / "stdout", artifacts / "rc"
    return {"status": result.status, "rc": int(rc.read_text()) if rc.exists() else result.rc, "errors": [],
            "private_data_dir": str(path),
            "artifacts": str(artifacts), "changed": stats.get("changed", {}), "failures": stats.get("failures", {}),
            "stdout": stdout.read_text(errors="replace") if stdout.exists() else ""}


_IDENTS = itertools.count(int(time.time()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["launch"])
    parser.add_argument("spec", type=Path, help="the launch, as JSON (see launch())")
    options = parser.parse_args(argv)
    print(json.dumps(launch(json.loads(options.spec.read_text())), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
