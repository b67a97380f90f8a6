"""Shared by the hardening tests: names, SSH from the client host, playbook runs (keel_verify)."""

import json
import os
import time
from pathlib import Path

import keel_verify

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


def run_playbook(playbook, *args, inventory_file=None):
    """Run a playbook of this scenario (a name in its folder, or a path) the way Molecule does."""
    return keel_verify.run_playbook(SCENARIO / playbook, *args, inventory=inventory_file)


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
