#!/usr/bin/env bash
# Runs the whole test suite: starts the local services (MariaDB with binlog, the Kafka broker)
# if they are not running, then unit and integration tests against them.
#   scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
eval "$(scripts/services.sh up)"
cargo test --lib --bins --tests "$@"
