"""Jobs of the template "Keel harden" run the way AWX 24.6.1 runs them (testbed/awx_job.py).

converge.yml launched the first job; these tests look at what it did to keel-awx-server, from
inside (testinfra, as root through the engine) and from outside (SSH from the controller), then
relaunch it, launch it with a wrong vault password, and with survey answers AWX refuses.
"""

import copy
import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import awx_job  # testbed/awx_job.py, put on sys.path by awx_helpers
import pytest
from awx_helpers import WORK, job_text
from keel_verify import wait_for

SERVER = "keel-awx-server"
testinfra_hosts = [f"ansible://{SERVER}"]  # the harden job's host (keel-awx-db is the restore's)


@pytest.fixture(scope="module")
def relaunch(launch):
    return awx_job.launch(launch)


@pytest.fixture(scope="module")
def address():
    networks = json.loads(subprocess.check_output(
        ["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", SERVER], text=True))
    return next(iter(networks.values()))["IPAddress"]


def ssh(address, user, command, key=WORK / "deploy_ed25519"):
    return subprocess.run(
        ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-i", str(key), f"{user}@{address}", command],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)


def secrets(launch, host):
    key_lines = launch["machine"]["ssh_key_data"].strip().splitlines()[1:-1]
    shadow_hash = host.check_output("getent shadow deploy").split(":")[1]
    return [launch["machine"]["become_password"], launch["vault_password"], shadow_hash, *key_lines]


def server_state(host):
    return host.check_output(
        "getent shadow deploy; sha256sum /etc/ssh/sshd_config /etc/ssh/sshd_config.d/* /etc/sudoers.d/*; ufw status")


def test_the_job_ran_as_awx_runs_it(first_job):
    assert first_job["status"] == "successful", first_job["stdout"][-3000:]
    assert first_job["changed"][SERVER] > 0
    job = Path(first_job["private_data_dir"])
    # The machine credential's user, sudo with its password asked for, and the vault credential's prompt.
    assert (job / "env" / "cmdline").read_text() == "-u deploy --become-method sudo --ask-become-pass --ask-vault-pass"
    # The survey's answers as AWX writes them: never templated (they reached sshd all the same, below).
    assert "!unsafe 'sshd_log_level': !unsafe 'VERBOSE'" in (job / "env" / "extravars").read_text()
    assert {(path.name, path.stat().st_mode & 0o777) for path in (job / "env").iterdir()} == {
        ("cmdline", 0o600), ("extravars", 0o600)}
    command = json.loads((Path(first_job["artifacts"]) / "command").read_text())
    assert command["command"][0] == "ssh-agent" and command["cwd"] == "/runner/project"
    assert command["env"]["ANSIBLE_COLLECTIONS_PATH"].startswith("/runner/requirements_collections:")


def test_the_survey_answer_reached_sshd(host):
    assert "loglevel VERBOSE" in host.check_output("sshd -T")


def test_deploy_logs_in_with_the_key_and_sudo_wants_the_password(address, launch):
    assert ssh(address, "deploy", "id -un").stdout.strip() == "deploy"
    refused = ssh(address, "deploy", "sudo -n true")
    assert refused.returncode != 0 and "password is required" in refused.stderr
    password = launch["machine"]["become_password"]
    allowed = ssh(address, "deploy", f"printf '%s\\n' '{password}' | sudo -S -p '' id -u")
    assert allowed.stdout.strip() == "0", allowed.stderr


def test_root_and_passwords_are_refused(address, host):
    settings = host.check_output("sshd -T")
    assert "permitrootlogin no" in settings and "passwordauthentication no" in settings
    assert "allowgroups sshusers" in settings
    assert ssh(address, "root", "true").returncode == 255


def test_the_firewall_lets_in_ssh_only(address, host):
    status = host.check_output("ufw status verbose")
    assert "Status: active" in status and "deny (incoming)" in status
    host.run("nohup python3 -m http.server 8089 --bind 0.0.0.0 >/dev/null 2>&1 &")
    fetch = "python3 -c 'import urllib.request; urllib.request.urlopen(\"http://%s:8089/\", timeout=5)'"
    try:
        wait_for(lambda: host.run(fetch % "127.0.0.1").rc == 0, 20, "a listener on port 8089 inside")
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://{address}:8089/", timeout=5)  # noqa: S310 - a test address
    finally:
        host.run("pkill -f 'http.server 8089'")


def test_a_relaunch_changes_nothing(relaunch):
    assert relaunch["status"] == "successful", relaunch["stdout"][-3000:]
    assert not any(relaunch["changed"].values()), relaunch["changed"]


def test_no_secret_is_in_the_jobs_events(first_job, relaunch, launch, host):
    for result in (first_job, relaunch):
        assert awx_job.secrets_in(job_text(result), secrets(launch, host)) == []


def test_a_wrong_vault_password_fails_cleanly(launch, host):
    before = server_state(host)
    wrong = copy.deepcopy(launch)
    wrong["vault_password"] = "not-the-vault-password"
    result = awx_job.launch(wrong)
    assert result["status"] == "failed" and result["rc"] != 0
    assert "Decryption failed" in result["stdout"] or "decrypt" in result["stdout"], result["stdout"][-3000:]
    assert not any(result["changed"].values()), result["changed"]
    assert server_state(host) == before
    assert awx_job.secrets_in(job_text(result), secrets(launch, host)) == []


@pytest.mark.parametrize(("answers", "error"), [
    ({"keel_harden_hosts": 5, "keel_harden_web_hosts": "keel_web"}, "expected to be a string"),
    ({"keel_harden_hosts": "keel_hardened", "keel_harden_web_hosts": "keel_web", "sshd_log_level": "LOUD"},
     "expected to be one of"),
    ({"keel_harden_web_hosts": "keel_web"}, "'keel_harden_hosts' value missing"),
])
def test_survey_answers_awx_refuses_stop_the_job_before_it_starts(launch, answers, error):
    jobs = sorted((WORK / "jobs").iterdir())
    refused = awx_job.launch({**launch, "answers": answers})
    assert refused["status"] == "refused" and any(error in message for message in refused["errors"])
    assert sorted((WORK / "jobs").iterdir()) == jobs


def test_the_import_keeps_inline_vault_values_and_refuses_a_vaulted_file(launch, tmp_path):
    inventory, _errors = awx_job.import_inventory(launch["project"], launch["inventory_source"],
                                                  launch["image"], launch["network"])
    hashed = inventory["keel_hardened"]["vars"]["users_admin_password_hash"]
    assert list(hashed) == ["__ansible_vault"] and hashed["__ansible_vault"].startswith("$ANSIBLE_VAULT;1.1;AES256")
    # The same variables as one encrypted file (ansible-vault encrypt): AWX's import has no password for it.
    project = tmp_path / "project"
    source = Path(launch["project"]) / launch["inventory_source"]
    shutil.copytree(source, project / "inventory")
    vaulted = project / "inventory" / "group_vars" / "keel_hardened.yml"
    vault = Path(sys.executable).with_name("ansible-vault")
    subprocess.run([vault, "encrypt", "--vault-password-file", WORK / "vault_password", vaulted],
                   check=True, capture_output=True)
    vaulted.chmod(0o644)  # as checked out; ansible-vault leaves it 0600, which the EE's user could not read
    inventory, errors = awx_job.import_inventory(project, "inventory", launch["image"], launch["network"])
    assert inventory is None and "vault" in errors
