#!/usr/bin/env bash
# No-op re-runs, the converge users wait for most: for each playbook, its
# Molecule scenario's hosts are created and converged once, then the converge
# runs again with nothing to change and is timed. One table at the end:
#   playbook, scenario, seconds of the no-op run (ansible-playbook alone, from
#   the ansible.posix.timer callback, and the whole `molecule converge`), tasks
#   run on the busiest host (ok + skipped), changed (must be 0).
# Slowness never fails it; a changed task in the no-op run is reported.
# Runs scenarios one after another (timings of parallel runs would measure the
# neighbours); each scenario's hosts are destroyed after it.
#
# Usage: benchmarks/noop.sh [scenario ...]   (after `make testbed`; run as root)
#   default: every scenario below; fabric_scenario1 only when the test bed found the Fabric images
set -euo pipefail

. "$(dirname "$0")/molecule_env.sh"
work="$(mktemp -d /var/tmp/keel-noop.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# scenario -> the playbook its converge runs
declare -A playbook=(
  [host]="roles: base"
  [inner_engine]="roles: base, docker_engine"
  [compose_stack]="roles: base, docker_engine, compose_stack"
  [harden]="playbooks/harden.yml"
  [postgres_backup]="playbooks/postgres.yml"
  [kafka]="kafka.yml roles, 16 topics"
  [fabric_scenario1]="playbooks/scenario1.yml"
  [chiroerp]="playbooks/chiroerp_tier1.yml"
  [fivesoffice]="playbooks/5soffice.yml"
  [fivesoffice_two_vps]="playbooks/5soffice.yml, two VPS"
)
order=(host inner_engine compose_stack harden postgres_backup kafka chiroerp fivesoffice fivesoffice_two_vps fabric_scenario1)
[ $# -gt 0 ] && order=("$@")

fabric=no
grep -qx 'keel_testbed_fabric_available: true' .testbed/supply.yml 2>/dev/null && fabric=yes

molecule_step() {
  local scenario="$1" step="$2" log="$3"
  if ! molecule "$step" -s "$scenario" > "$log" 2>&1; then
    tail -40 "$log" >&2
    echo "molecule $step -s $scenario failed (log above)" >&2
    return 1
  fi
}

rows=()
for s in "${order[@]}"; do
  if [[ $s == fabric_* && $fabric != yes ]]; then
    rows+=("$(printf '%-42s %-18s %s' "${playbook[$s]:-?}" "$s" "skipped: Fabric images not available")")
    continue
  fi
  echo "--- $s: create, converge once" >&2
  molecule destroy -s "$s" > /dev/null 2>&1 || true
  molecule_step "$s" create "$work/$s-create.log"
  if [ -f "molecule/$s/prepare.yml" ]; then molecule_step "$s" prepare "$work/$s-prepare.log"; fi
  molecule_step "$s" converge "$work/$s-first.log"
  echo "--- $s: no-op converge" >&2
  start=$(date +%s.%N)
  ANSIBLE_CALLBACKS_ENABLED=ansible.posix.timer molecule_step "$s" converge "$work/$s-noop.log"
  wall=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
  read -r playbook_s tasks changed < <(python3 benchmarks/log_figures.py "$work/$s-noop.log")
  rows+=("$(printf '%-42s %-18s %8ss %8ss %6s %8s' "${playbook[$s]:-?}" "$s" "$playbook_s" "$wall" "$tasks" "$changed")")
  molecule destroy -s "$s" > /dev/null 2>&1 || true
done

echo
printf '%-42s %-18s %9s %9s %6s %8s\n' "playbook" "scenario" "playbook" "molecule" "tasks" "changed"
printf '%s\n' "${rows[@]}"
