#!/usr/bin/env bash
# Benchmark of ThermoTrace scenario 1 (playbooks/scenario1.yml: 3 Raft orderers,
# Manufacturer's and MRO Lab's peers, the chaincode as a service) on one fresh
# test-bed host with its own engine, converged the way `make demo` does it
# (testbed/fabric_scenario1.yml). Prints:
#   1. the start of the empty host (test-bed host recipe, benchmarks/fabric_host.yml)
#   2. empty host -> first committed transaction: the converge, then one
#      `peer chaincode invoke --waitForEvent` endorsed by both peers
#   3. the no-op re-run of the converge: seconds, tasks, tasks per second, changes;
#      the slowest tasks of both converges (ansible.posix.profile_tasks)
#   4. the peak memory of each container inside the host, from its cgroup
#      (`docker stats` shows 0 on this engine), and their sum; next to it the sum
#      of its processes' RSS high-water marks (VmHWM), which also counts the pages
#      of the binaries that the cgroup charged to whoever read them first
# Slowness never fails it. The host (keel-bench-fabric) and its engine's volume
# are removed at the end.
#
# Usage: benchmarks/fabric_scenario1.sh   (after `make testbed` found the Fabric images; run as root)
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
host=keel-bench-fabric
work="$(mktemp -d /var/tmp/keel-f-bench.XXXXXX)"
export PATH="$here/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$here/.testbed/collections"
# As `make demo` and Molecule run it.
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 ANSIBLE_PIPELINING=1

cleanup() {
  docker rm -f -v "$host" >/dev/null 2>&1 || true
  docker volume rm "$host-docker" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

supply="$here/.testbed/supply.yml"
if ! grep -qx 'keel_testbed_fabric_available: true' "$supply" 2>/dev/null; then
  echo "The test bed has not found the Fabric images (run \`make testbed\`):" >&2
  cat "$here/.testbed/fabric-skip.txt" >&2 2>/dev/null || true
  exit 2
fi

cat > "$work/inventory.yml" <<YAML
fabric:
  hosts:
    $host:
      ansible_connection: community.docker.docker
YAML

# ansible-playbook with its output in a log; the log's tail when it fails.
play() {
  local log="$1"; shift
  if ! ansible-playbook -i "$work/inventory.yml" "$@" > "$log" 2>&1; then
    tail -40 "$log" >&2
    echo "ansible-playbook $* failed (log above)" >&2
    exit 1
  fi
}

# The host's line of the last PLAY RECAP as shell assignments: ok=.. changed=.. skipped=..
recap() { grep -E "^$host +:" "$1" | tail -1 | grep -oE '[a-z]+=[0-9]+'; }

# One transaction as the scenario's tests submit it: Manufacturer's admin, both peers endorse.
base=/var/lib/keel/fabric
peer_env=(-e CORE_PEER_LOCALMSPID=ManufacturerMSP
          -e "CORE_PEER_MSPCONFIGPATH=$base/manufacturer.thermotrace.example/admins/admin.manufacturer.thermotrace.example/msp"
          -e CORE_PEER_ADDRESS=peer0.manufacturer.thermotrace.example:9051 -e CORE_PEER_TLS_ENABLED=true
          -e "CORE_PEER_TLS_ROOTCERT_FILE=$base/manufacturer.thermotrace.example/tlsca/tlsca.crt")
invoke() {
  docker exec "$host" docker exec "${peer_env[@]}" thermotrace-tools peer chaincode invoke \
    -o orderer1.orderer.thermotrace.example:8050 --tls --cafile "$base/orderer.thermotrace.example/tlsca/tlsca.crt" \
    -C thermotrace -n thermotrace --waitForEvent \
    --peerAddresses peer0.manufacturer.thermotrace.example:9051 \
    --tlsRootCertFiles "$base/manufacturer.thermotrace.example/tlsca/tlsca.crt" \
    --peerAddresses peer0.mrolab.thermotrace.example:7051 \
    --tlsRootCertFiles "$base/mrolab.thermotrace.example/tlsca/tlsca.crt" \
    -c "{\"function\":\"recordReading\",\"Args\":[\"BENCH-1\",\"sensor-bench\",\"4.5\",\"C\",\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"]}"
}

# Peak memory of a container of the inner engine, from its cgroup (the host shares
# this machine's cgroup tree): "<bytes> <file> <dir>". cgroup v2 memory.peak, else
# v1 memory.max_usage_in_bytes (page cache included), else the current usage.
cgroup_memory() {
  local id="$1" file dir dirs
  mapfile -t dirs < <(find /sys/fs/cgroup -maxdepth 6 -type d \( -name "$id" -o -name "docker-$id.scope" \) 2>/dev/null)
  for file in memory.peak memory.max_usage_in_bytes memory.current memory.usage_in_bytes; do
    for dir in "${dirs[@]}"; do
      if [ -r "$dir/$file" ]; then echo "$(cat "$dir/$file") $file $dir"; return 0; fi
    done
  done
  echo "0 none /nonexistent"
}
# Sum of VmHWM (bytes) of the processes in a cgroup folder.
hwm_bytes() {
  local pid kib sum=0
  while read -r pid; do
    kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    sum=$((sum + ${kib:-0} * 1024))
  done < <(cat "$1/cgroup.procs" 2>/dev/null)
  echo "$sum"
}
mib() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1048576:.0f}')" "$1"; }

echo "== starting the empty host $host (test-bed host recipe, own engine)"
docker rm -f -v "$host" >/dev/null 2>&1 || true
docker volume rm "$host-docker" >/dev/null 2>&1 || true
t=$(now)
play "$work/host.log" "$here/benchmarks/fabric_host.yml"
host_s=$(since "$t")

# Both converges say how long each task took, slowest first.
export ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_TASK_OUTPUT_LIMIT=15
slowest() { sed -n '/^=\{20,\}/,$p' "$1" | grep -E ' -+ +[0-9.]+s$' | head -"$2" | sed 's/^/  /'; }

echo "== converging scenario 1 on it"
t0=$(now)
play "$work/converge.log" "$here/testbed/fabric_scenario1.yml"
converge_s=$(since "$t0")
eval "$(recap "$work/converge.log" | sed 's/^/first_/')"

echo "== first transaction (invoke --waitForEvent), retried for at most 120 s"
t=$(now)
tx_tries=0
tx_ok=no
while [ "$(since "$t" | cut -d. -f1)" -lt 120 ]; do
  tx_tries=$((tx_tries + 1))
  if invoke > "$work/invoke.log" 2>&1 && grep -q 'status:200' "$work/invoke.log"; then tx_ok=yes; break; fi
  sleep 1
done
tx_s=$(since "$t")
total_s=$(since "$t0")
[ "$tx_ok" = yes ] || { echo "no committed transaction in 120 s:" >&2; tail -5 "$work/invoke.log" >&2; }

echo "== no-op re-run of the converge"
t=$(now)
play "$work/noop.log" "$here/testbed/fabric_scenario1.yml"
noop_s=$(since "$t")
eval "$(recap "$work/noop.log")"
tasks=$((ok + skipped + failed))
rate=$(python3 -c "import sys; print(f'{int(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$tasks" "$noop_s")

echo "== peak memory of the containers inside the host"
mem_lines=""
sum=0 sum_hwm=0 nodes=0 nodes_hwm=0
while read -r id name; do
  read -r bytes file dir < <(cgroup_memory "$id")
  hwm=$(hwm_bytes "$dir")
  sum=$((sum + bytes)) sum_hwm=$((sum_hwm + hwm))
  # The tools container only serves the CLIs; test-network runs them on the machine.
  if [[ $name != *-tools ]]; then nodes=$((nodes + bytes)) nodes_hwm=$((nodes_hwm + hwm)); fi
  mem_lines+=$(printf '    %-40s %5s MiB %8s MiB' "$name" "$(mib "$bytes")" "$(mib "$hwm")")$'\n'
done < <(docker exec "$host" docker ps --no-trunc --format '{{.ID}} {{.Names}}' | sort -k2)

cat <<REPORT

ThermoTrace scenario 1 benchmark (3 orderers + 2 peers + Node CCaaS chaincode, one host with its own engine, $(nproc) cores)
  empty host started:                  ${host_s}s
  converge (playbooks/scenario1.yml):  ${converge_s}s  (ok=$first_ok changed=$first_changed skipped=$first_skipped)
  first transaction committed:         ${tx_s}s after the converge, $tx_tries attempt(s), $([ "$tx_ok" = yes ] && echo committed || echo "NOT committed")
  empty host -> first committed tx:    ${total_s}s
  no-op re-run:                        ${noop_s}s, $tasks tasks ($ok ok, $skipped skipped), $rate tasks/s, changed=$changed
$(printf '  %-42s %9s %12s' "peak memory per container" cgroup "VmHWM sum")  (cgroup: $file)
${mem_lines}$(printf '    %-40s %5s MiB %8s MiB' "all containers" "$(mib "$sum")" "$(mib "$sum_hwm")")
$(printf '    %-40s %5s MiB %8s MiB' "nodes and chaincode (without tools)" "$(mib "$nodes")" "$(mib "$nodes_hwm")")
  anchor, from the issue: fabric-samples test-network, same 3 orderers + 2 peers + Node CCaaS chaincode,
    on this machine: first committed transaction ~47 s after start, peak ~300 MiB

slowest tasks of the first converge:
$(slowest "$work/converge.log" 10)
slowest tasks of the no-op re-run:
$(slowest "$work/noop.log" 15)
REPORT
