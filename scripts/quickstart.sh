#!/usr/bin/env bash
# Quickstart: local services up, the seed's `users` table in `mydb` with a few rows, then Sluice
# running the seed's source connector (config/my-source-connect.json) until Ctrl-C.
# Rows land on topic my_topic_users as Kafka Connect's JsonConverter JSON; insert more rows into
# mydb.users and they follow within poll.interval.ms.
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
exec cargo run --release --quiet -- standalone config/worker.properties config/my-source-connect.json "$@"
