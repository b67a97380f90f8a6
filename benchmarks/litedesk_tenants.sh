#!/usr/bin/env bash
# LiteDesk: the time to provision the N-th tenant on one host, and the no-op
# re-run with ten. The litedesk Molecule scenario's hosts are created and
# prepared once; playbooks/litedesk.yml (the scenario's converge) then runs with
# the shared instance alone, then with 1, 2, ... 10 tenants (each run adds one),
# then once more with the ten and nothing to change. All on the first host
# (--limit), with a small plan so that ten fit the test host.
# One table at the end: tenants, seconds (ansible-playbook alone, from the
# ansible.posix.timer callback, and the whole `molecule converge`), changed tasks,
# and how many containers of earlier tenants were recreated (must be 0).
# Slowness never fails it. The scenario's hosts are destroyed at the end.
#
# Usage: benchmarks/litedesk_tenants.sh [tenants]   (default 10; after `make testbed`; run as root)
set -euo pipefail

count="${1:-10}"
. "$(dirname "$0")/molecule_env.sh"
scenario=litedesk
host=keel-ld-host
work="$(mktemp -d /var/tmp/keel-ld-bench.XXXXXX)"
cleanup() {
  molecule destroy -s "$scenario" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

step() {
  local log="$1"; shift
  if ! molecule "$@" > "$log" 2>&1; then
    tail -40 "$log" >&2
    echo "molecule $* failed (log above)" >&2
    return 1
  fi
}

# The extra variables of a run with n tenants: t01..tNN on the first host.
vars_for() {
  python3 - "$1" "$host" > "$work/vars-$1.json" <<'PY'
import json, sys
n, host = int(sys.argv[1]), sys.argv[2]
service = {"cpus": 0.05, "memory": "64M"}
print(json.dumps({
    "litedesk_plans": {"bench": {"backend": service, "frontend": service,
                                 "database": {"cpus": 0.05, "memory": "128M"}}},
    "litedesk_shared_plan": "bench",
    "litedesk_tenants": [{"name": "t%02d" % i, "plan": "bench", "host": host} for i in range(1, n + 1)],
}))
PY
}

# The ids of the containers of the tenants' projects, one "project id" per line.
ids() {
  docker exec "$host" docker ps -a --filter label=com.docker.compose.project \
    --format '{{.Label "com.docker.compose.project"}} {{.ID}}' | sort
}

converge() {
  local n="$1" log="$work/run-$1-$2.log"
  vars_for "$n"
  local start; start=$(date +%s.%N)
  ANSIBLE_CALLBACKS_ENABLED=ansible.posix.timer step "$log" converge -s "$scenario" -- \
    --limit "$host" -e "@$work/vars-$n.json"
  local wall; wall=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" \
    "$start" "$(date +%s.%N)")
  local playbook_s changed
  read -r playbook_s _ changed < <(python3 benchmarks/log_figures.py "$log")
  echo "$playbook_s $wall $changed"
}

echo "--- create and prepare the scenario's hosts" >&2
molecule destroy -s "$scenario" > /dev/null 2>&1 || true
step "$work/create.log" create -s "$scenario"
step "$work/prepare.log" prepare -s "$scenario"
echo "--- the host with the shared instance alone" >&2
converge 0 first > /dev/null

rows=()
for n in $(seq 1 "$count"); do
  echo "--- tenant $n" >&2
  before="$(ids)"
  read -r playbook_s wall changed < <(converge "$n" add)
  # Containers of the earlier projects whose id changed (recreated by this run).
  recreated=$(comm -23 <(echo "$before") <(ids) | wc -l)
  rows+=("$(printf '%8s %-18s %8ss %8ss %8s %10s' "$n" "add tenant t$(printf %02d "$n")" "$playbook_s" "$wall" \
    "$changed" "$recreated")")
done
echo "--- no-op with $count tenants" >&2
before="$(ids)"
read -r playbook_s wall changed < <(converge "$count" noop)
recreated=$(comm -23 <(echo "$before") <(ids) | wc -l)
rows+=("$(printf '%8s %-18s %8ss %8ss %8s %10s' "$count" "no-op re-run" "$playbook_s" "$wall" "$changed" \
  "$recreated")")

echo
printf '%8s %-18s %9s %9s %8s %10s\n' "tenants" "run" "playbook" "molecule" "changed" "recreated"
printf '%s\n' "${rows[@]}"
