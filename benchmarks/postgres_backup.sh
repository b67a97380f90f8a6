#!/usr/bin/env bash
# Benchmark of keel-pg-backup (roles/postgres_backup) against plain pg_dump | pg_restore.
#
# Starts a Postgres container on the local engine, fills it with about 1 GB
# (pgbench tables at scale 70 by default), then times:
#   1. keel-pg-backup backup   (parallel directory-format dump + globals + per-table counts taken from
#                               the dump's data + SHA256SUMS, no off-host copy)
#   2. keel-pg-backup drill    (scratch container, parallel restore, row-count comparison)
#   3. plain pg_dump -Fc to a file, and pg_restore of that file into a fresh container
#   4. plain pg_dump -Fc | pg_restore straight into a fresh container
# and prints the figures, with backup / plain dump and drill / plain restore. Both sides
# compress at the same gzip level (6). Everything it starts is named keel-p-bench* and removed at the end.
#
# Usage: benchmarks/postgres_backup.sh [scale] [image]   (needs docker and python3; run as root)
set -euo pipefail

scale="${1:-70}"
image="${2:-postgres:15}"
here="$(cd "$(dirname "$0")/.." && pwd)"
tool="$here/roles/postgres_backup/files/keel_pg_backup.py"
work="$(mktemp -d /var/tmp/keel-p-bench.XXXXXX)"
live=keel-p-bench
scratch=keel-p-bench-scratch

cleanup() {
  docker rm -f -v "$live" "$scratch" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }'; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

start_server() {
  docker run -d --name "$1" --shm-size=256m -e POSTGRES_PASSWORD=bench \
    --label com.docker.compose.project=keel-p-bench --label "com.docker.compose.service=$2" "$image" >/dev/null
  for _ in $(seq 120); do
    if docker exec "$1" pg_isready -q -h 127.0.0.1 -U postgres; then return 0; fi
    sleep 1
  done
  echo "server $1 did not start" >&2
  exit 1
}

echo "== starting $image and loading pgbench data at scale $scale"
start_server "$live" postgres
t=$(now)
docker exec "$live" createdb -U postgres bench
docker exec "$live" pgbench -U postgres -i -q -s "$scale" bench >/dev/null 2>&1
load_s=$(since "$t")
size=$(docker exec "$live" psql -U postgres -Atc "SELECT pg_size_pretty(pg_database_size('bench'))")
rows=$(docker exec "$live" psql -U postgres -d bench -Atc "SELECT count(*) FROM pgbench_accounts")

cat > "$work/config.json" <<JSON
{"backup_dir": "$work/backups", "project": "keel-p-bench", "service": "postgres", "superuser": "postgres",
 "databases": ["bench"], "retention_days": 7, "compress": "6", "jobs": 0, "restore_jobs": $(nproc),
 "status_dir": "$work/state", "target": {"type": "none"},
 "drill": {"image": "$image", "timeout": 120, "checks": []}}
JSON

echo "== keel-pg-backup backup"
t=$(now)
python3 "$tool" --config "$work/config.json" backup
backup_s=$(since "$t")
dump_size=$(du -sh "$work/backups" | cut -f1)

echo "== keel-pg-backup drill"
t=$(now)
python3 "$tool" --config "$work/config.json" drill
drill_s=$(since "$t")

echo "== plain pg_dump -Fc to a file"
t=$(now)
docker exec "$live" pg_dump -U postgres -Fc -Z 6 -d bench > "$work/plain.dump"
plain_dump_s=$(since "$t")

echo "== plain pg_restore of that file into a fresh container"
t=$(now)
start_server "$scratch" scratch
docker exec "$scratch" createdb -U postgres bench
docker exec -i "$scratch" pg_restore -U postgres -d bench < "$work/plain.dump"
plain_restore_s=$(since "$t")
docker rm -f -v "$scratch" >/dev/null

echo "== plain pg_dump | pg_restore into a fresh container"
t=$(now)
start_server "$scratch" scratch
docker exec "$scratch" createdb -U postgres bench
docker exec "$live" pg_dump -U postgres -Fc -Z 6 -d bench | docker exec -i "$scratch" pg_restore -U postgres -d bench
pipe_s=$(since "$t")

cat <<REPORT

keel-pg-backup benchmark ($image, $(nproc) cores)
  database:                          bench, $size, pgbench_accounts $rows rows (load ${load_s}s)
  backup dir size:                   $dump_size
  keel-pg-backup backup:             ${backup_s}s
  keel-pg-backup drill:              ${drill_s}s  (scratch start + restore -j$(nproc) + counts)
  plain pg_dump -Fc > file:          ${plain_dump_s}s
  plain pg_restore (fresh server):   ${plain_restore_s}s
  plain pg_dump | pg_restore:        ${pipe_s}s
  backup / plain pg_dump -Fc:        $(ratio "$backup_s" "$plain_dump_s")
  drill / plain pg_restore:          $(ratio "$drill_s" "$plain_restore_s")
  (backup + drill) / (dump + restore): $(ratio "$(add "$backup_s" "$drill_s")" "$(add "$plain_dump_s" "$plain_restore_s")")
REPORT
