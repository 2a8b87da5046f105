#!/usr/bin/env bash
# Side-by-side benchmark: redoubt-server vs Debian's redis-server in one run, on free loopback
# ports, with the same redis-benchmark workloads. Prints ratios (redoubt / redis).
#
#   bench/compare.sh                 # full run (-n 1000000 per test)
#   BENCH_N=100000 bench/compare.sh  # quicker
#   BENCH_TESTS=ping,set bench/compare.sh
#   BENCH_TYPE_TESTS=none BENCH_MEMORY=0 bench/compare.sh   # string workloads only
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_N:-1000000}
CLIENTS=${BENCH_CLIENTS:-50}
TESTS=${BENCH_TESTS:-ping,set,get,incr,mset}
TYPE_TESTS=${BENCH_TYPE_TESTS:-lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_600,xadd}
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

bench() { # port pipeline size tests
  redis-benchmark -p "$1" -n "$N" -c "$CLIENTS" -P "$2" -d "$3" -t "$4" --csv -q 2>/dev/null
}

compare_csv() { # ours.csv redis.csv pipeline size
  python3 - "$1" "$2" "$3" "$4" <<'PY'
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
    print(f"{t:<12} {sys.argv[3]:<3} {sys.argv[4]:<5} {ra:12.0f} {rb:12.0f} {ratio(ra,rb):8.2f} {ratio(p50a,p50b):8.2f} {ratio(p99a,p99b):8.2f}")
PY
}

run_pair() { # pipeline size tests
  redis-cli -p "$P_OURS" flushall >/dev/null; redis-cli -p "$P_REDIS" flushall >/dev/null
  bench "$P_OURS" "$1" "$2" "$3" > "$WORK/ours.csv"
  bench "$P_REDIS" "$1" "$2" "$3" > "$WORK/redis.csv"
  compare_csv "$WORK/ours.csv" "$WORK/redis.csv" "$1" "$2"
}

printf '%-12s %-3s %-5s %12s %12s %8s %8s %8s\n' test P size redoubt_rps redis_rps rps_x p50_x p99_x
for P in 1 16; do
  for SIZE in 3 1024; do run_pair "$P" "$SIZE" "$TESTS"; done
done
if [ "$TYPE_TESTS" != none ]; then
  for P in 1 16; do run_pair "$P" 3 "$TYPE_TESTS"; done
fi

[ "${BENCH_MEMORY:-1}" = 0 ] && exit 0
echo
echo "# memory: used_memory growth after loading each dataset into an empty server (MiB), ratio = redoubt / redis"
used() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '/^used_memory:/{print $2}'; }
rss() { echo $(( $(awk '{print $2}' /proc/"$1"/statm) * $(getconf PAGESIZE) )); }
gen() { # dataset -> RESP commands on stdout
  python3 - "$1" "$KEYS" <<'PY'
import sys
kind, n = sys.argv[1], int(sys.argv[2])
out = sys.stdout.buffer
def cmd(*args):
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))
if kind == "strings":
    for i in range(n): cmd("SET", "key:%012d" % i, "xxx")
elif kind == "hashes":
    for i in range(100000): cmd("HSET", "h:%d" % i, *[x for f in range(10) for x in ("field%d" % f, "value%d" % f)])
elif kind == "sets":
    for i in range(100000): cmd("SADD", "s:%d" % i, *["member%d" % m for m in range(10)])
elif kind == "zsets":
    for i in range(100000): cmd("ZADD", "z:%d" % i, *[x for m in range(10) for x in (m, "member%d" % m)])
elif kind == "list":
    for i in range(0, 1000000, 1000): cmd("RPUSH", "biglist", *["element%d" % (i + j) for j in range(1000)])
PY
}
printf '%-10s %12s %12s %8s %14s %14s %8s\n' dataset redoubt redis ratio redoubt_rss redis_rss ratio
for ds in strings hashes sets zsets list; do
  # Fresh processes, so that neither allocator reuses memory freed by an earlier dataset.
  kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; PIDS=()
  P_OURS=$(free_port); start redoubt "$PWD/$OURS" "$P_OURS"
  P_REDIS=$(free_port); start redis "$(command -v redis-server)" "$P_REDIS"
  u0o=$(used "$P_OURS"); u0r=$(used "$P_REDIS"); r0o=$(rss "${PIDS[0]}"); r0r=$(rss "${PIDS[1]}")
  gen "$ds" > "$WORK/$ds.resp"
  redis-cli -p "$P_OURS" --pipe < "$WORK/$ds.resp" >/dev/null
  redis-cli -p "$P_REDIS" --pipe < "$WORK/$ds.resp" >/dev/null
  u1o=$(used "$P_OURS"); u1r=$(used "$P_REDIS"); r1o=$(rss "${PIDS[0]}"); r1r=$(rss "${PIDS[1]}")
  python3 -c "
import sys
uo,ur,ro,rr=[int(x) for x in sys.argv[1:5]]
m=2**20
print(f'{sys.argv[5]:<10} {uo/m:12.1f} {ur/m:12.1f} {uo/ur:8.2f} {ro/m:14.1f} {rr/m:14.1f} {ro/max(rr,1):8.2f}')
" $((u1o-u0o)) $((u1r-u0r)) $((r1o-r0o)) $((r1r-r0r)) "$ds"
done
