#!/usr/bin/env bash
# `sluice worker` footprint: time from exec to the first 200 from GET / (REST serving), to
# /health 200 (internal topics read, connectors restored), and idle RSS after 10 s. Needs the
# services (scripts/services.sh up) and a release build (cargo build --release).
set -euo pipefail
dir=$(mktemp -d)
topics="bench-$(date +%s%N)"
cat > "$dir/w.properties" <<P
bootstrap.servers=127.0.0.1:9092
listeners=http://127.0.0.1:18083
offset.storage.topic=$topics-offsets
offset.storage.replication.factor=1
offset.storage.partitions=1
config.storage.topic=$topics-configs
config.storage.replication.factor=1
status.storage.topic=$topics-status
status.storage.replication.factor=1
status.storage.partitions=1
P
start=$(date +%s%N)
target/release/sluice --log-level warn worker "$dir/w.properties" &
pid=$!
until curl -sf -o /dev/null http://127.0.0.1:18083/; do sleep 0.002; done
rest=$(( ($(date +%s%N) - start) / 1000000 ))
until curl -sf -o /dev/null http://127.0.0.1:18083/health; do sleep 0.01; done
ready=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 10
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
kill -TERM $pid; wait $pid || true
echo "rest_ms=$rest ready_ms=$ready idle_rss_kb=$rss"
