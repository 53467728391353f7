#!/usr/bin/env bash
# The benchmark harness: one command that brings up the local services, builds the release
# binaries, runs every scenario with its same-run baselines, and writes the results.
#
#   scripts/bench.sh [all|source|binlog|sink|pipeline|worker]... [--rows N] [--sizes N,M,…] [--keep-services]
#
# Scenarios (each prints one JSON line per measurement; see the benches/*.rs headers):
#   source    polling JDBC source, table → topic      baselines: keyset SELECT scan, raw produce
#   binlog    binlog capture, insert burst → topic     baselines: raw binlog decode, raw produce
#   sink      topic → table, fresh and updating rows   baselines: raw multi-row upsert, raw consume
#   pipeline  MariaDB → Kafka → MariaDB in one worker: rows/s, lag p50/p99/max to the topic and
#             to the target table at fixed ingest rates, the source alone at the top rate
#             (baseline: the broker's own lag) with its database load, load at idle — binlog
#             and polling capture
#   worker    `sluice worker` start-up time and idle RSS
# source, binlog and sink run the seed's `users` shape at every size of --sizes (default
# 100000,1000000; add 10000000 when the disk allows), the 30-column shape at the smallest, and
# the big-rows shape (2,000 rows of 256 KiB MEDIUMTEXT and MEDIUMBLOB values).
# --rows N: only that size.
#
# Writes benches/results/<UTC stamp>-<commit>.json (every measurement with date, commit, machine
# and command), appends a Markdown section to BENCHMARKS.md and renders PNG charts into
# benches/charts/ (matplotlib, installed into a private venv on first use). Stops the services
# it started at the end unless --keep-services.
#
# The test broker (tansu, memory storage) slows as it accumulates data (BENCHMARKS.md), so when
# this script started it, it restarts it before every bench (each bench makes its own topics);
# a broker that was already running is left alone, with a warning.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scenarios=()
sizes="100000,1000000"
keep_services=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) sizes="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    --keep-services) keep_services=1; shift ;;
    all|source|binlog|sink|pipeline|worker) scenarios+=("$1"); shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#scenarios[@]} -eq 0 ] && scenarios=(all)
wants() { for s in "${scenarios[@]}"; do [ "$s" = all ] || [ "$s" = "$1" ] && return 0; done; return 1; }

was_running=0
if scripts/services.sh status 2>/dev/null | grep -q "kafka: running"; then was_running=1; fi
eval "$(scripts/services.sh up)"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then commit="$commit+dirty"; fi
mkdir -p benches/results benches/charts
lines="$(mktemp)"
started=$(date +%s)

echo "== building (release)" >&2
cargo build --release --benches --bins >&2

smallest="${sizes%%,*}"
if [ "$was_running" = 1 ]; then
  echo "bench.sh: the Kafka broker was already running: not restarting it between benches, so" \
    "later benches run on a broker holding the earlier ones' data (slower on tansu)" >&2
fi
run() { # run <bench> <args…>: appends the bench's JSON lines
  if [ "$was_running" = 0 ]; then scripts/services.sh restart-kafka >/dev/null; fi
  echo "== cargo bench --bench $*" >&2
  cargo bench --bench "$@" | tee -a /dev/stderr | grep '^{' >> "$lines" || {
    echo "bench.sh: $1 failed" >&2; return 1; }
}
IFS=, read -r -a size_list <<< "$sizes"
if wants source; then
  for n in "${size_list[@]}"; do run source_e2e -- --rows "$n"; done
  run source_e2e -- --rows "$smallest" --shape wide
  run source_e2e -- --rows 2000 --shape big
fi
if wants binlog; then
  for n in "${size_list[@]}"; do run binlog_e2e -- --rows "$n"; done
  run binlog_e2e -- --rows "$smallest" --shape wide
  run binlog_e2e -- --rows 2000 --shape big
fi
if wants sink; then
  for n in "${size_list[@]}"; do run sink_e2e -- --rows "$n"; done
  run sink_e2e -- --rows "$smallest" --shape wide
  run sink_e2e -- --rows 2000 --shape big
fi
if wants pipeline; then
  run pipeline_e2e -- --rows "$smallest" --rates 1000,5000,10000 --seconds 10
fi
if wants worker; then
  echo "== scripts/bench-worker.sh" >&2
  for _ in 1 2 3; do
    scripts/bench-worker.sh | tail -1 | tee -a /dev/stderr | python3 -c '
import json, sys
fields = dict(kv.split("=") for kv in sys.stdin.read().split())
print(json.dumps({"scenario": "worker_footprint", "rest_ms": int(fields["rest_ms"]),
  "ready_ms": int(fields["ready_ms"]), "idle_rss_mb": int(fields["idle_rss_kb"]) / 1024}))' >> "$lines"
  done
fi

result="benches/results/$stamp-${commit}.json"
command="scripts/bench.sh ${scenarios[*]} --sizes $sizes"
python3 scripts/bench_report.py --lines "$lines" --out "$result" --command "$command" \
  --commit "$commit" --stamp "$stamp" --seconds $(( $(date +%s) - started )) \
  --markdown BENCHMARKS.md --charts benches/charts
rm -f "$lines"

venv="${SLUICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}/bench-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
  echo "== installing matplotlib into $venv" >&2
  python3 -m venv "$venv" && "$venv/bin/pip" install --quiet matplotlib >&2 || true
fi
chart_python=""
if "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
  chart_python="$venv/bin/python"
elif python3 -c 'import matplotlib' 2>/dev/null; then
  chart_python=python3
elif command -v apt-get >/dev/null; then
  # Debian without python3-venv: its own matplotlib package.
  echo "== installing python3-matplotlib (apt)" >&2
  { [ "$(id -u)" = 0 ] && apt-get install -y -q python3-matplotlib >&2 \
      || sudo -n apt-get install -y -q python3-matplotlib >&2; } || true
  python3 -c 'import matplotlib' 2>/dev/null && chart_python=python3
fi
if [ -n "$chart_python" ]; then
  "$chart_python" scripts/bench_report.py --charts-only --results benches/results --charts benches/charts
else
  echo "bench.sh: matplotlib unavailable, charts not rendered (results and BENCHMARKS.md are written)" >&2
fi

if [ "$keep_services" = 0 ] && [ "$was_running" = 0 ]; then scripts/services.sh down >&2; fi
echo "bench.sh: done in $(( $(date +%s) - started )) s; results in $result" >&2
