#!/usr/bin/env bash
# Quickstart: local services up, the seed's `users` table in `mydb` with a few rows, then Sluice
# running the seed's two connectors until Ctrl-C: the JDBC source (config/my-source-connect.json)
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
exec cargo run --release --quiet -- standalone config/worker.properties \
  config/my-source-connect.json config/my-sink-connect.json "$@"
