#!/usr/bin/env bash
# Side-by-side scripting benchmark: redoubt-server vs Debian's redis-server in one run, on free
# loopback ports, with the same redis-benchmark workloads. Prints ratios (redoubt / redis).
#
#   bench/scripting.sh                  # full run (-n 1000000 per workload)
#   BENCH_N=100000 bench/scripting.sh   # quicker
#
# Workloads, each at -P 1 and -P 16 (BENCH_CLIENTS clients, default 50):
#   eval      redis-benchmark's eval example: EVAL 'return redis.call("ping")' 0
#   evalsha5  EVALSHA of a 5-command script (INCR, SET, GET, HSET, HGET on random keys)
#   fcall5    FCALL of the same 5 commands as a function
# BENCH_BUILD=0 skips `cargo build` (uses the existing release binary).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_N:-1000000}
CLIENTS=${BENCH_CLIENTS:-50}

for tool in redis-server redis-benchmark redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y redis-server redis-tools" >&2; exit 1; }
done
[ "${BENCH_BUILD:-1}" = 0 ] || cargo build --release -q -p redoubt --bin redoubt-server
OURS=target/release/redoubt-server

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

start() { # name bin port
  local name=$1 bin=$2 port=$3
  mkdir -p "$WORK/$name"
  (cd "$WORK/$name" && exec "$bin" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --logfile "$WORK/$name.log") &
  PIDS+=($!)
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "$name did not start" >&2; exit 1
}

P_OURS=$(free_port); start redoubt "$PWD/$OURS" "$P_OURS"
P_REDIS=$(free_port); start redis "$(command -v redis-server)" "$P_REDIS"
echo "# $(date -u +%Y-%m-%d) $(nproc) cores, $(redis-server --version | cut -d' ' -f3), redoubt $(git rev-parse --short HEAD 2>/dev/null || echo dev)"
echo "# redis-benchmark -n $N -c $CLIENTS -r 100000; ratio = redoubt / redis (throughput >= 1 and latency <= 1 is better)"

SCRIPT5="redis.call('incr', KEYS[1]) redis.call('set', KEYS[2], ARGV[1]) redis.call('get', KEYS[2]) redis.call('hset', KEYS[3], 'f', ARGV[1]) return redis.call('hget', KEYS[3], 'f')"
LIB5="#!lua name=bench
redis.register_function('five', function(KEYS, ARGV) $SCRIPT5 end)"
for p in "$P_OURS" "$P_REDIS"; do
  SHA=$(redis-cli -p "$p" script load "$SCRIPT5")
  redis-cli -p "$p" function load replace "$LIB5" >/dev/null
done

bench() { # port pipeline command...
  local port=$1 pipeline=$2; shift 2
  redis-benchmark -p "$port" -n "$N" -c "$CLIENTS" -P "$pipeline" -r 100000 --csv -q "$@" 2>/dev/null | tail -1
}

printf '%-10s %-3s %12s %12s %8s %8s %8s\n' workload P redoubt_rps redis_rps rps_x p50_x p99_x
run() { # name pipeline command...
  local name=$1 pipeline=$2; shift 2
  redis-cli -p "$P_OURS" flushall >/dev/null; redis-cli -p "$P_REDIS" flushall >/dev/null
  local a b
  a=$(bench "$P_OURS" "$pipeline" "$@")
  b=$(bench "$P_REDIS" "$pipeline" "$@")
  python3 - "$name" "$pipeline" "$a" "$b" <<'PY'
import csv, io, sys
name, p, a, b = sys.argv[1:5]
ra, rb = next(csv.reader(io.StringIO(a))), next(csv.reader(io.StringIO(b)))
(xa, p50a, p99a), (xb, p50b, p99b) = [(float(r[1]), float(r[4]), float(r[6])) for r in (ra, rb)]
q = lambda x, y: x / y if y else float("nan")
print(f"{name:<10} {p:<3} {xa:12.0f} {xb:12.0f} {q(xa, xb):8.2f} {q(p50a, p50b):8.2f} {q(p99a, p99b):8.2f}")
PY
}

for P in 1 16; do
  run eval "$P" eval 'return redis.call("ping")' 0
  run evalsha5 "$P" evalsha "$SHA" 3 'c:__rand_int__' 's:__rand_int__' 'h:__rand_int__' value
  run fcall5 "$P" fcall five 3 'c:__rand_int__' 's:__rand_int__' 'h:__rand_int__' value
done
