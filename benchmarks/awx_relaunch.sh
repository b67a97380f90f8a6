#!/usr/bin/env bash
# What running a job the way AWX runs it costs on top of ansible-playbook, for
# the re-run users wait for most: the no-op relaunch of the first job of a
# scenario whose jobs run the way AWX runs them - "Keel harden" (awx, the
# default) or "Keel Fabric network" with an admin key credential (fabric_awx).
# The scenario's hosts are created and the first job run (molecule converge),
# then, three times each:
#   - the import of the project's inventory in the execution environment alone;
#   - the whole relaunch through testbed/awx_job.py (survey, import, private data
#     dir, ansible-runner transmit | worker in the EE container | process);
#   - the same playbook, variables and login run by ansible-playbook directly from
#     the controller (key, sudo and vault passwords from files, the credentials'
#     files and extra variables written beside them).
# Prints seconds and changed (must be 0) per run; slowness never fails it. The
# hosts are destroyed at the end. Run alone: parallel work measures the neighbours.
#
# Usage: benchmarks/awx_relaunch.sh [awx|fabric_awx]   (after `make testbed`; run as root)
set -euo pipefail

SCENARIO="${1:-awx}"
case "$SCENARIO" in
  awx) HOST=keel-awx-server ;;
  fabric_awx) HOST=keel-fawx-1 ;;
  *) echo "usage: $0 [awx|fabric_awx]" >&2; exit 2 ;;
esac
export SCENARIO HOST
. "$(dirname "$0")/molecule_env.sh"
MOLECULE_EPHEMERAL_DIRECTORY="$(mktemp -d /var/tmp/keel-awx-bench.XXXXXX)"
export MOLECULE_EPHEMERAL_DIRECTORY
trap 'molecule destroy -s "$SCENARIO" > /dev/null 2>&1 || true; rm -rf "$MOLECULE_EPHEMERAL_DIRECTORY"' EXIT

echo "[bench] creating the $SCENARIO scenario's hosts and running the first job (a few minutes)"
molecule destroy -s "$SCENARIO" > /dev/null 2>&1 || true
molecule converge -s "$SCENARIO" > "$MOLECULE_EPHEMERAL_DIRECTORY/converge.log" 2>&1 ||
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
host = os.environ["HOST"]
networks = json.loads(subprocess.check_output(
    ["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", host], text=True))
address = next(iter(networks.values()))["IPAddress"]
templates = yaml.safe_load(Path("awx/vars/templates.yml").read_text())["controller_templates"]
template = next(item for item in templates if item["name"] == launch["template"])
extra_vars = awx_job.job_extra_vars(template.get("extra_vars"), template.get("survey_spec"), launch["answers"])[0]
types = yaml.safe_load(Path("awx/vars/credential_types.yml").read_text())["controller_credential_types"]


def direct():
    with tempfile.TemporaryDirectory() as tmp:
        secrets = {"sudo": Path(tmp) / "sudo", "vault": Path(tmp) / "vault"}
        secrets["sudo"].write_text(launch["machine"]["become_password"])
        (Path(tmp) / "vars.json").write_text(json.dumps({**extra_vars, "ansible_host": address}))
        args = ["-e", "@" + str(Path(tmp) / "vars.json")]
        if launch.get("vault_password"):
            secrets["vault"].write_text(launch["vault_password"])
            args += ["--vault-password-file", str(secrets["vault"])]
        (Path(tmp) / "env").mkdir()
        for credential in launch.get("credentials", []):
            kind = next(item for item in types if item["name"] == credential["type"])
            args += awx_job.inject(kind, credential["inputs"], tmp, container_dir=tmp)[1]
        done = subprocess.run(
            ["ansible-playbook", "-i", launch["inventory_source"], template["playbook"], "-u", "deploy",
             "--private-key", str(work / "deploy_ed25519"), "--become-method", "sudo",
             "--become-password-file", str(secrets["sudo"]), *args],
            cwd=launch["project"], capture_output=True, text=True, check=False,
            env={**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "False"})
        recap = [line for line in done.stdout.splitlines() if line.startswith(host)]
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
