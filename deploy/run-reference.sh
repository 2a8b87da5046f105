#!/usr/bin/env bash
# Builds redoubt-server and runs the reference deployment's servers from deploy/reference/:
# the primary on 6379 and its two replicas on 6380 and 6381 (password 1111), each in its own
# working directory under $REDOUBT_DIR (default /tmp/redoubt-reference), until Ctrl-C, which
# stops all three. The sentinels are not built yet; `redoubt up` will replace this script.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p redoubt --bin redoubt-server
bin="$PWD/target/release/redoubt-server"
conf="$PWD/deploy/reference"
base="${REDOUBT_DIR:-/tmp/redoubt-reference}"
for port in 6379 6380 6381; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use; stop what listens there first" >&2
    exit 1
  fi
done
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
start() {
  local name="$1" file="$2"
  mkdir -p "$base/$name"
  (cd "$base/$name" && exec "$bin" "$conf/$file" --logfile "$base/$name/server.log") &
  pids+=("$!")
  echo "$name: $file, log $base/$name/server.log"
}
start primary primary.conf
start replica1 replica1.conf
start replica2 replica2.conf
if ! command -v redis-cli >/dev/null; then
  echo "running; Ctrl-C stops all three"
  wait
  exit 0
fi
for _ in $(seq 1 100); do
  up=0
  for port in 6380 6381; do
    if redis-cli -p "$port" -a 1111 --no-auth-warning info replication 2>/dev/null | grep -q "master_link_status:up"; then
      up=$((up + 1))
    fi
  done
  [ "$up" = 2 ] && break
  sleep 0.2
done
redis-cli -p 6379 -a 1111 --no-auth-warning info replication | grep -E "^(role|connected_slaves|slave[0-9])"
echo "running; Ctrl-C stops all three"
wait
