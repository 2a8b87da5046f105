#!/usr/bin/env bash
# Side-by-side benchmark: redoubt-server vs Debian's redis-server in one run, on free loopback
# ports, with the same redis-benchmark workloads. Prints ratios (redoubt / redis).
#
#   bench/compare.sh                 # full run (-n 1000000 per test)
#   BENCH_N=100000 bench/compare.sh  # quicker
#   BENCH_TESTS=ping,set bench/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_N:-1000000}
CLIENTS=${BENCH_CLIENTS:-50}
TESTS=${BENCH_TESTS:-ping,set,get,incr,mset}
KEYS=${BENCH_MEMORY_KEYS:-1000000}

for tool in redis-server redis-benchmark redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y redis-server redis-tools" >&2; exit 1; }
done
cargo build --release -q -p redoubt
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
echo "# redis-benchmark -n $N -c $CLIENTS; ratio = redoubt / redis (throughput >= 1 and latency <= 1 is better)"

bench() { # port pipeline size
  redis-benchmark -p "$1" -n "$N" -c "$CLIENTS" -P "$2" -d "$3" -t "$TESTS" --csv -q 2>/dev/null
}

printf '%-8s %-3s %-5s %12s %12s %8s %8s %8s\n' test P size redoubt_rps redis_rps rps_x p50_x p99_x
for P in 1 16; do
  for SIZE in 3 1024; do
    redis-cli -p "$P_OURS" flushall >/dev/null; redis-cli -p "$P_REDIS" flushall >/dev/null
    bench "$P_OURS" "$P" "$SIZE" > "$WORK/ours.csv"
    bench "$P_REDIS" "$P" "$SIZE" > "$WORK/redis.csv"
    python3 - "$WORK/ours.csv" "$WORK/redis.csv" "$P" "$SIZE" <<'PY'
import csv, sys
def load(p):
    rows = {}
    for r in csv.reader(open(p)):
        if not r or r[0] == "test": continue
        rows[r[0].split()[0]] = (float(r[1]), float(r[4]), float(r[6]))
    return rows
a, b = load(sys.argv[1]), load(sys.argv[2])
for t in a:
    if t not in b: continue
    (ra, p50a, p99a), (rb, p50b, p99b) = a[t], b[t]
    ratio = lambda x, y: x / y if y else float("nan")
    print(f"{t:<8} {sys.argv[3]:<3} {sys.argv[4]:<5} {ra:12.0f} {rb:12.0f} {ratio(ra,rb):8.2f} {ratio(p50a,p50b):8.2f} {ratio(p99a,p99b):8.2f}")
PY
  done
done

echo
echo "# memory after loading $KEYS string keys (key:NNNNNNNNNNNN -> 3-byte value)"
load_keys() {
  python3 - "$KEYS" <<'PY' | redis-cli -p "$1" --pipe >/dev/null
import sys
n = int(sys.argv[1]); out = sys.stdout.buffer
for i in range(n):
    k = b"key:%012d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$3\r\nxxx\r\n" % (len(k), k))
PY
}
mem() { # port pid
  local used rss
  used=$(redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '/^used_memory:/{print $2}')
  rss=$(( $(awk '{print $2}' /proc/"$2"/statm) * $(getconf PAGESIZE) ))
  echo "$used $rss"
}
redis-cli -p "$P_OURS" flushall >/dev/null; redis-cli -p "$P_REDIS" flushall >/dev/null
load_keys "$P_OURS"; load_keys "$P_REDIS"
read -r U_OURS R_OURS < <(mem "$P_OURS" "${PIDS[0]}")
read -r U_REDIS R_REDIS < <(mem "$P_REDIS" "${PIDS[1]}")
python3 - "$U_OURS" "$R_OURS" "$U_REDIS" "$R_REDIS" "$(redis-cli -p "$P_OURS" dbsize)" "$(redis-cli -p "$P_REDIS" dbsize)" <<'PY'
import sys
uo, ro, ur, rr = map(int, sys.argv[1:5])
print(f"keys: redoubt {sys.argv[5]}, redis {sys.argv[6]}")
print(f"used_memory  redoubt {uo/2**20:8.1f} MiB  redis {ur/2**20:8.1f} MiB  ratio {uo/ur:5.2f}")
print(f"rss          redoubt {ro/2**20:8.1f} MiB  redis {rr/2**20:8.1f} MiB  ratio {ro/rr:5.2f}")
PY
