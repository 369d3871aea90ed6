#!/usr/bin/env bash
# Real PostgreSQL and RabbitMQ for the test suite: installed from Debian packages when
# missing, run as private instances on loopback ports below the ephemeral range, with all
# data in one temporary directory, and stopped by the PIDs this script recorded.
#
#   scripts/services.sh start           install if needed, start both, write $STATE/env
#   scripts/services.sh stop            stop both (by PID) and remove the data
#   scripts/services.sh start-rabbitmq  (re)start only the broker, keeping its data
#   scripts/services.sh stop-rabbitmq   stop only the broker (fault tests use this)
#   scripts/services.sh env             print the settings the tests need
#
# GW_PORT_OFFSET shifts every port, so several checkouts can run their suites at once.
set -euo pipefail

OFFSET=${GW_PORT_OFFSET:-0}
PG_PORT=$((25432 + OFFSET))
AMQP_PORT=$((25672 + OFFSET))
DIST_PORT=$((26672 + OFFSET))
EPMD_PORT=$((24369 + OFFSET))
STATE=${GW_SERVICES_DIR:-/tmp/genesys-gateway-services-$OFFSET}
RABBIT_NODE="gateway$OFFSET@localhost"

log() { printf 'services: %s\n' "$*" >&2; }

pg_bin() { find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1; }

install_packages() {
    local missing=()
    [ -n "$(pg_bin)" ] || missing+=(postgresql)
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]} (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

wait_for_port() {  # host port seconds
    local deadline=$((SECONDS + $3))
    until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
        [ $SECONDS -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

stop_pid_file() {  # pidfile name: TERM the process group, then KILL what is left
    local file=$1 name=$2 pid
    [ -f "$file" ] || return 0
    pid=$(head -n 1 "$file")
    if kill -0 "$pid" 2>/dev/null; then
        log "stopping $name (pid $pid)"
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

# --- PostgreSQL -------------------------------------------------------------------------

start_postgres() {
    local bin data
    bin=$(pg_bin)
    data="$STATE/pg/data"
    mkdir -p "$STATE/pg"
    chmod 755 "$STATE"
    chown postgres: "$STATE/pg"
    if [ ! -f "$data/PG_VERSION" ]; then
        runuser -u postgres -- "$bin/initdb" -D "$data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
    fi
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    # fsync off: the data is thrown away after the run; crash-safety of the test database
    # itself is not under test.
    runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$STATE/pg/server.log" -w -t 60 \
        -o "-p $PG_PORT -k $STATE/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
        start >/dev/null
    head -n 1 "$data/postmaster.pid" >"$STATE/postgres.pid"
    runuser -u postgres -- psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'gateway'" | grep -q 1 ||
        runuser -u postgres -- psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE gateway"
}

# --- RabbitMQ ---------------------------------------------------------------------------

rabbit_env() {
    export HOME="$STATE/rabbitmq"  # the Erlang cookie lives here
    export RABBITMQ_NODENAME=$RABBIT_NODE
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT=$AMQP_PORT
    export RABBITMQ_DIST_PORT=$DIST_PORT
    export ERL_EPMD_PORT=$EPMD_PORT
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_MNESIA_BASE="$STATE/rabbitmq/mnesia"
    export RABBITMQ_LOG_BASE="$STATE/rabbitmq/log"
    export RABBITMQ_CONFIG_FILE="$STATE/rabbitmq/rabbitmq"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$STATE/rabbitmq/enabled_plugins"
    export RABBITMQ_CONF_ENV_FILE="$STATE/rabbitmq/rabbitmq-env.conf"
    export RABBITMQ_PID_FILE="$STATE/rabbitmq/node.pid"
    export RABBITMQ_LOGS=-
    # A node that fails to boot writes a crash dump to its working directory, which is
    # the checkout: keep it beside the node's other state instead.
    export ERL_CRASH_DUMP="$STATE/rabbitmq/erl_crash.dump"
}

start_rabbitmq() {
    rabbit_env
    mkdir -p "$STATE/rabbitmq/log" "$STATE/rabbitmq/mnesia"
    : >"$RABBITMQ_CONF_ENV_FILE"
    echo '[].' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
    cat >"$STATE/rabbitmq/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
loopback_users = none
disk_free_limit.absolute = 50MB
EOF
    if ! kill -0 "$(cat "$STATE/epmd.pid" 2>/dev/null)" 2>/dev/null; then
        setsid epmd -port "$EPMD_PORT" -address 127.0.0.1 >/dev/null 2>&1 &
        echo $! >"$STATE/epmd.pid"
    fi
    log "starting RabbitMQ on 127.0.0.1:$AMQP_PORT"
    setsid /usr/lib/rabbitmq/bin/rabbitmq-server >"$STATE/rabbitmq/server.log" 2>&1 </dev/null &
    echo $! >"$STATE/rabbitmq.pid"
    if ! wait_for_port 127.0.0.1 "$AMQP_PORT" 120; then
        log "RabbitMQ did not open its port; last lines of its log:"
        tail -n 30 "$STATE/rabbitmq/server.log" >&2
        return 1
    fi
    /usr/lib/rabbitmq/bin/rabbitmqctl -q -n "$RABBIT_NODE" await_startup >/dev/null
}

stop_rabbitmq() { stop_pid_file "$STATE/rabbitmq.pid" RabbitMQ; }

write_env() {
    cat >"$STATE/env" <<EOF
DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/gateway
CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT//
EVENTS_BROKER_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT//
GW_SERVICES_DIR=$STATE
GW_PORT_OFFSET=$OFFSET
EOF
}

case "${1:-}" in
start)
    install_packages
    mkdir -p "$STATE"
    start_postgres
    start_rabbitmq
    write_env
    log "ready; settings in $STATE/env"
    ;;
stop)
    stop_rabbitmq
    stop_pid_file "$STATE/postgres.pid" PostgreSQL
    stop_pid_file "$STATE/epmd.pid" epmd
    rm -rf "$STATE"
    ;;
start-rabbitmq) start_rabbitmq ;;
stop-rabbitmq) stop_rabbitmq ;;
rabbitmqctl)
    shift
    rabbit_env
    exec /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBIT_NODE" "$@"
    ;;
env) cat "$STATE/env" ;;
*)
    echo "usage: $0 start|stop|start-rabbitmq|stop-rabbitmq|rabbitmqctl ...|env" >&2
    exit 2
    ;;
esac
