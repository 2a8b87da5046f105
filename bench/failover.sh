#!/usr/bin/env bash
# Side-by-side failover benchmark: Redoubt's sentinels vs Debian's redis-sentinel (7.0), both
# watching Redoubt servers, so only the sentinel differs. Prints one table with medians and the
# ratio redoubt / redis (lower is better on every row).
#
#   bench/failover.sh                   # 3 drills per sentinel implementation
#   BENCH_REPEAT=5 bench/failover.sh    # 5 drills each
#
# For each sentinel implementation, `target/release/redoubt up` starts the reference deployment
# (a primary, two replicas, three sentinels; down-after-milliseconds 5000, failover-timeout
# 60000) on free loopback ports in a fresh directory, with `--sentinel-bin
# /usr/bin/redis-sentinel` for the redis column. Then `redoubt drill kill-primary` runs
# BENCH_REPEAT times in a row against that same deployment: each drill SIGKILLs whichever server
# is the primary at that moment (the one the previous drill promoted), waits for the new primary,
# restarts the old one and waits until it has rejoined as a replica, so every drill starts from a
# settled deployment. From each drill's report it reads:
#   - "longest time without a write" (ms): the drill's writer's longest gap between acknowledged
#     writes from the kill on, dominated by down-after-milliseconds (5000) plus the failover;
#   - the ms of the first +switch-master on the drill's timeline (any sentinel), after the kill;
#   - "acknowledged writes missing on the new primary".
# Knobs: BENCH_REPEAT (drills per implementation, default 3), BENCH_BUILD=0 (skip `cargo build
# --release`), BENCH_SENTINEL_BIN (default /usr/bin/redis-sentinel), BENCH_SETTLE_SECS (bound of
# each drill's wait for the deployment to settle, default 120), BENCH_DOWN_AFTER (the sentinels'
# down-after-milliseconds, default 5000; the issue's second target is 1000). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

REPEAT=${BENCH_REPEAT:-3}
REDIS_SENTINEL=${BENCH_SENTINEL_BIN:-/usr/bin/redis-sentinel}
SETTLE=${BENCH_SETTLE_SECS:-120}
DOWN_AFTER=${BENCH_DOWN_AFTER:-5000}

for tool in python3 timeout; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
[ -x "$REDIS_SENTINEL" ] || { echo "missing $REDIS_SENTINEL: apt-get install -y redis-sentinel" >&2; exit 1; }
if [ "${BENCH_BUILD:-1}" = 1 ]; then cargo build --release -q -p redoubt
else echo "# BENCH_BUILD=0: using the existing target/release/redoubt" >&2; fi

WORK=$(mktemp -d)
# A private copy, so that a rebuild during the run cannot swap the binary between starts.
mkdir "$WORK/bin"
cp target/release/redoubt "$WORK/bin/redoubt"
BIN=$WORK/bin/redoubt
UPPID=""
UPDIR=""
RESULTS=$WORK/results.tsv
: >"$RESULTS"

log() { echo "# [$(date +%H:%M:%S)] $*" >&2; }

# free_block N: the first of N consecutive free loopback ports (none of 6379/26379/5000).
free_block() {
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("no free port block")
PY
}

stop_up() {
  # `down` first: its pid file also names the servers the drills restarted, which `up` does not
  # stop (and `up` removes the pid file when it stops).
  [ -z "$UPDIR" ] || "$BIN" down --dir "$UPDIR" >/dev/null 2>&1 || true
  UPDIR=""
  if [ -n "$UPPID" ]; then
    kill -TERM "$UPPID" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$UPPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$UPPID" 2>/dev/null || true
    wait "$UPPID" 2>/dev/null || true
    UPPID=""
  fi
}

cleanup() {
  local rc=$?
  stop_up
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_impl NAME [UP ARGS...]: one deployment, REPEAT drills; appends NAME\tgap\tswitch\tmissing
# rows to RESULTS (n/a cells when a drill's report lacks a number).
run_impl() {
  local name=$1; shift
  local base sbase out i rep gap sw miss
  base=$(free_block 3)
  sbase=$(free_block 3)
  while [ "$sbase" -le $((base + 2)) ] && [ "$((sbase + 2))" -ge "$base" ]; do sbase=$(free_block 3); done
  UPDIR=$WORK/up-$name
  out=$WORK/$name-up.out
  log "$name: redoubt up on ports $base-$((base + 2)), sentinels $sbase-$((sbase + 2))"
  "$BIN" up --dir "$UPDIR" --base-port "$base" --sentinel-port "$sbase" \
    --down-after-ms "$DOWN_AFTER" --failover-timeout-ms 60000 "$@" >"$out" 2>&1 &
  UPPID=$!
  for _ in $(seq 1 900); do
    grep -q '^events (' "$out" && break
    kill -0 "$UPPID" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q '^events (' "$out"; then
    log "$name: redoubt up did not get ready:"; tail -n 20 "$out" >&2
    for i in $(seq 1 "$REPEAT"); do printf '%s\tn/a\tn/a\tn/a\n' "$name" >>"$RESULTS"; done
    stop_up
    return
  fi
  for i in $(seq 1 "$REPEAT"); do
    rep=$WORK/$name-drill$i.txt
    log "$name: drill $i/$REPEAT kill-primary"
    timeout $((SETTLE + 60)) "$BIN" drill kill-primary --dir "$UPDIR" --settle-secs "$SETTLE" >"$rep" 2>&1 || log "$name: drill $i exited with $?"
    gap=$(sed -n 's/.*longest time without a write: \([0-9]*\) ms.*/\1/p' "$rep" | head -n 1)
    sw=$(awk '$3 == "+switch-master" { print $1; exit }' "$rep")
    miss=$(sed -n 's/^acknowledged writes missing on the new primary: \([0-9]*\).*/\1/p' "$rep" | head -n 1)
    log "$name: drill $i: longest without a write ${gap:-?} ms, first +switch-master ${sw:-?} ms, missing ${miss:-?}; $(grep -E '^primary (before|after)' "$rep" | tr '\n' ' ')"
    [ -n "$gap" ] && [ -n "$sw" ] || { log "$name: drill $i report:"; cat "$rep" >&2; }
    printf '%s\t%s\t%s\t%s\n' "$name" "${gap:-n/a}" "${sw:-n/a}" "${miss:-n/a}" >>"$RESULTS"
  done
  stop_up
}

run_impl redoubt
run_impl redis --sentinel-bin "$REDIS_SENTINEL"

echo "# $REPEAT kill-primary drills per sentinel implementation, Redoubt servers in both; down-after $DOWN_AFTER ms"
echo "# ratio = redoubt / redis; lower is better on every row"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
metrics = [
    (1, "longest time without a write (ms)"),
    (2, "first +switch-master after the kill (ms)"),
    (3, "acknowledged writes missing"),
]
def vals(impl, col):
    return [int(r[col]) for r in rows if r[0] == impl and r[col].lstrip("-").isdigit()]
def med(v):
    return statistics.median(v) if v else None
fmt = lambda x: "n/a" if x is None else (f"{x:.0f}" if x == int(x) else f"{x:.1f}")
print(f"| metric (median of {sum(1 for r in rows if r[0] == 'redoubt')} drills) | redoubt | redis | ratio | redoubt runs | redis runs |")
print("|---|---|---|---|---|---|")
for col, label in metrics:
    a, b = vals("redoubt", col), vals("redis", col)
    ma, mb = med(a), med(b)
    if ma is None or mb is None:
        ratio = "n/a"
    elif mb == 0:
        ratio = "1.00" if ma == 0 else "—"
    else:
        ratio = f"{ma / mb:.2f}"
    runs = lambda v: " ".join(map(str, v)) or "n/a"
    print(f"| {label} | {fmt(ma)} | {fmt(mb)} | {ratio} | {runs(a)} | {runs(b)} |")
PY
