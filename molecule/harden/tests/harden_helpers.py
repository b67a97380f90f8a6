"""Shared by the hardening tests: names, SSH from the client host, playbook runs."""

import json
import os
import subprocess
import time
from pathlib import Path

SERVER = "keel-h-server"
CLIENT = "keel-h-client"
ADMIN = "deploy"
# ufw's `limit` rule drops the 6th new SSH connection from one address within
# 30 s; the tests stay under that budget (see ClientSSH._budget).
LIMIT_HITS = 5
LIMIT_WINDOW = 32.0

SCENARIO = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "harden"
SSH_OPTS = (
    "-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
    "-o ConnectTimeout=10 -o LogLevel=ERROR"
)


def inventory():
    return os.environ["MOLECULE_INVENTORY_FILE"]


class ClientSSH:
    """SSH and TCP probes from the client host to the server's port 22."""

    _hits: list = []  # shared on purpose: one budget per session

    def __init__(self, client):
        self.client = client

    def _budget(self):
        # Wait (bounded) until a new connection stays under ufw's rate limit.
        now = time.monotonic()
        recent = [t for t in self._hits if now - t < LIMIT_WINDOW]
        if len(recent) >= LIMIT_HITS:
            time.sleep(LIMIT_WINDOW - (now - min(recent)))
        self._hits.append(time.monotonic())

    def run(self, command):
        self._budget()
        return self.client.run(command)

    def login(self, user, key="admin_ed25519", command="id -un"):
        return self.run(f"ssh {SSH_OPTS} -i /root/.ssh/{key} {user}@{SERVER} '{command}'")


class PlaybookRun:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr

    def recap(self, host=SERVER):
        """The PLAY RECAP counters of one host, e.g. {'ok': 12, 'changed': 1, ...}."""
        for line in reversed(self.output.splitlines()):
            if line.startswith(host + " ") and "ok=" in line:
                return {k: int(v) for k, v in (item.split("=") for item in line.split(":", 1)[1].split())}
        raise AssertionError(f"no recap for {host} in:\n{self.output[-3000:]}")


def run_playbook(playbook, *args, inventory_file=None, env=None, timeout=600):
    """Run a playbook of this scenario the way Molecule does, and return its outcome."""
    proc = subprocess.run(
        ["ansible-playbook", "-i", inventory_file or inventory(), str(SCENARIO / playbook), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", **(env or {})},
    )
    return PlaybookRun(proc)


def run_cases(cases, workdir):
    """Apply one role per case, each with its own variables, all in one ansible-playbook run.

    Each case is a play of its own (variables never leak into the next case). A role that
    refuses is rescued, the message it failed with is written to workdir, and the run goes
    on. Returns the run and, per case, that message, or None when the role did not refuse.
    """
    plays = []
    for number, (role, extra) in enumerate(cases):
        report = {
            "name": "Keep the message of the refusal",
            "ansible.builtin.copy": {
                "content": "{{ ansible_failed_result.msg }}",
                "dest": str(workdir / f"case-{number}.txt"),
                "mode": "0600",
            },
            "delegate_to": "localhost",
            "become": False,
            "changed_when": False,
        }
        plays.append(
            {
                "name": f"Case {number}: {role}",
                "hosts": SERVER,
                "become": True,
                "gather_facts": False,
                "tasks": [
                    {
                        "block": [{"ansible.builtin.include_role": {"name": f"keel.infra.{role}"}, "vars": extra}],
                        "rescue": [report],
                    }
                ],
            }
        )
    playbook = workdir / "cases.yml"
    playbook.write_text(json.dumps(plays))
    run = run_playbook(playbook)
    found = [workdir / f"case-{number}.txt" for number in range(len(cases))]
    return run, [path.read_text() if path.exists() else None for path in found]
