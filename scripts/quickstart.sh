#!/usr/bin/env bash
# Quickstart: local services up, the seed's `users` table in `mydb` with a few rows, then the
# Sluice worker (REST API on :8083) with the seed's two connectors POSTed to it exactly as the
# seed's curl commands do, running until Ctrl-C: the JDBC source (config/my-source-connect.json)
# writes rows to topic my_topic_users as Kafka Connect's JsonConverter JSON, and the JDBC sink
# (config/my-sink-connect.json, consumer group connect-my-sink-connect) copies them into table
# mydb.my_topic_users, which it creates. Insert more rows into mydb.users and they follow within
# poll.interval.ms.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
eval "$(scripts/services.sh up)"
mariadb --no-defaults -h "$SLUICE_MARIADB_HOST" -P "$SLUICE_MARIADB_PORT" -u "$SLUICE_MARIADB_USER" \
  -p"$SLUICE_MARIADB_PASSWORD" mydb <<'SQL'
CREATE TABLE IF NOT EXISTS users (
  id INT AUTO_INCREMENT PRIMARY KEY,
  user_id VARCHAR(32),
  pwd VARCHAR(32),
  name VARCHAR(64),
  created_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO users (user_id, pwd, name)
SELECT * FROM (SELECT 'user1', '1234', 'kim' UNION ALL SELECT 'user2', '1234', 'lee') AS seed
WHERE NOT EXISTS (SELECT 1 FROM users);
SQL
cargo build --release --quiet
target/release/sluice worker config/worker.properties "$@" &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null; wait "$worker"' INT TERM
# The seed's steps, scripted with no sleep: `curl localhost:8083/` answers as soon as the worker
# listens; every later call is held (as Connect holds it) until the worker has read its topics
# and holds its share of the tasks, so the POSTs never race the start-up.
for _ in $(seq 1 600); do
  curl -sf http://localhost:8083/ >/dev/null && break
  kill -0 "$worker" 2>/dev/null || exit 1
  sleep 0.1
done
curl -s http://localhost:8083/; echo
curl -s http://localhost:8083/connector-plugins | python3 -m json.tool
# The seed's POSTs (a 409 just means the connector is already stored in connect-configs).
for connector in config/my-source-connect.json config/my-sink-connect.json; do
  curl -s -X POST -d @"$connector" http://localhost:8083/connectors --header "content-Type:application/json"; echo
done
curl -s http://localhost:8083/connectors; echo
curl -s http://localhost:8083/connectors/my-source-connect/status; echo
curl -s http://localhost:8083/connectors/my-sink-connect/status; echo
echo "Sluice is running (REST http://localhost:8083, metrics http://localhost:8083/metrics); Ctrl-C stops it."
wait "$worker"
