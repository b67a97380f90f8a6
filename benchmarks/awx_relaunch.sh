#!/usr/bin/env bash
# What running a job the way AWX runs it costs on top of ansible-playbook, for
# the re-run users wait for most: the no-op relaunch of "Keel harden". The awx
# scenario's hosts are created and the first job run (molecule converge), then,
# three times each:
#   - the import of the project's inventory in the execution environment alone;
#   - the whole relaunch through testbed/awx_job.py (survey, import, private data
#     dir, ansible-runner transmit | worker in the EE container | process);
#   - the same playbook, variables and login run by ansible-playbook directly from
#     the controller (key, sudo and vault passwords from files).
# Prints seconds and changed (must be 0) per run; slowness never fails it. The
# hosts are destroyed at the end. Run alone: parallel work measures the neighbours.
#
# Usage: benchmarks/awx_relaunch.sh   (after `make testbed`; run as root)
set -euo pipefail

. "$(dirname "$0")/molecule_env.sh"
MOLECULE_EPHEMERAL_DIRECTORY="$(mktemp -d /var/tmp/keel-awx-bench.XXXXXX)"
export MOLECULE_EPHEMERAL_DIRECTORY
trap 'molecule destroy -s awx > /dev/null 2>&1 || true; rm -rf "$MOLECULE_EPHEMERAL_DIRECTORY"' EXIT

echo "[bench] creating the awx scenario's hosts and running the first job (a few minutes)"
molecule destroy -s awx > /dev/null 2>&1 || true
molecule converge -s awx > "$MOLECULE_EPHEMERAL_DIRECTORY/converge.log" 2>&1 ||
  { tail -40 "$MOLECULE_EPHEMERAL_DIRECTORY/converge.log"; exit 1; }

python - <<'EOF'
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, "testbed")
import awx_job

work = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "awx"
launch = json.loads((work / "launch.json").read_text())
networks = json.loads(subprocess.check_output(
    ["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", "keel-awx-server"], text=True))
address = next(iter(networks.values()))["IPAddress"]
templates = yaml.safe_load(Path("awx/vars/templates.yml").read_text())["controller_templates"]
template = next(item for item in templates if item["name"] == launch["template"])
extra_vars = awx_job.job_extra_vars(template.get("extra_vars"), template["survey_spec"], launch["answers"])[0]


def direct():
    with tempfile.TemporaryDirectory() as tmp:
        secrets = {"sudo": Path(tmp) / "sudo", "vault": Path(tmp) / "vault"}
        secrets["sudo"].write_text(launch["machine"]["become_password"])
        secrets["vault"].write_text(launch["vault_password"])
        (Path(tmp) / "vars.json").write_text(json.dumps({**extra_vars, "ansible_host": address}))
        done = subprocess.run(
            ["ansible-playbook", "-i", launch["inventory_source"], "playbooks/harden.yml", "-u", "deploy",
             "--private-key", str(work / "deploy_ed25519"), "--become-method", "sudo",
             "--become-password-file", str(secrets["sudo"]), "--vault-password-file", str(secrets["vault"]),
             "-e", "@" + str(Path(tmp) / "vars.json")],
            cwd=launch["project"], capture_output=True, text=True, check=False,
            env={**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "False"})
        recap = [line for line in done.stdout.splitlines() if line.startswith("keel-awx-server")]
        return done.returncode, recap[-1].split("changed=")[1].split()[0] if recap else "?"


rows = []
for attempt in range(1, 4):
    start = time.monotonic()
    awx_job.import_inventory(launch["project"], launch["inventory_source"], launch["image"], launch["network"])
    rows.append(("inventory import in the EE", attempt, time.monotonic() - start, "-"))
    start = time.monotonic()
    result = awx_job.launch(launch)
    rows.append(("relaunch as AWX runs it", attempt, time.monotonic() - start,
                 sum(result["changed"].values()) if result["status"] == "successful" else result["status"]))
    start = time.monotonic()
    rc, changed = direct()
    rows.append(("ansible-playbook directly", attempt, time.monotonic() - start, changed if rc == 0 else f"rc {rc}"))

print("\n| run | attempt | seconds | changed |\n|---|---|---|---|")
for name, attempt, seconds, changed in rows:
    print(f"| {name} | {attempt} | {seconds:.1f} | {changed} |")
EOF
