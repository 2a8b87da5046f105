#!/usr/bin/env bash
# Side-by-side benchmark of the coupon service on Redoubt and on Redis 7.0 (Debian's
# redis-server and redis-sentinel): the same `coupon load` run against each store, with and
# without a failover in the middle. Prints one table of medians and ratios redoubt / redis.
#
#   bench/coupon.sh                    # BENCH_REPEAT=3 runs per row
#   BENCH_USERS=40000 bench/coupon.sh  # bigger runs
#
# Each run is `coupon load` with a deployment of its own on free ports (three servers, three
# sentinels with down-after-milliseconds 1000, the API, two workers, SQLite):
#   - "full speed": BENCH_USERS users (default 20000) for BENCH_USERS/2 coupons, no rate limit,
#     --concurrency 256: issuance throughput (requests answered per second) and request p99;
#   - "kill-primary": the same users at BENCH_RATE per second (default 2000) with
#     `--drill kill-primary --durability replicated` in the middle: request p99, the
#     unavailability window (first to last failed or slow attempt), and confirmed-but-lost.
# Knobs: BENCH_REPEAT, BENCH_USERS, BENCH_RATE, BENCH_BUILD=0 (skip `cargo build --release`).
# Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

REPEAT=${BENCH_REPEAT:-3}
USERS=${BENCH_USERS:-20000}
RATE=${BENCH_RATE:-2000}
QUANTITY=$((USERS / 2))

for f in /usr/bin/redis-server /usr/bin/redis-sentinel; do
  [ -x "$f" ] || { echo "missing $f: apt-get install -y redis-server redis-sentinel" >&2; exit 1; }
done
if [ "${BENCH_BUILD:-1}" = 1 ]; then cargo build --release -q -p redoubt -p coupon
else echo "# BENCH_BUILD=0: using the existing target/release binaries" >&2; fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Private copies, so that a rebuild during the run cannot swap the binaries between runs.
mkdir "$WORK/bin"
cp target/release/redoubt target/release/redoubt-server target/release/redoubt-sentinel \
  target/release/coupon "$WORK/bin/"
RESULTS=$WORK/results.tsv
: >"$RESULTS"

log() { echo "# [$(date +%H:%M:%S)] $*" >&2; }

# run STORE SCENARIO N: one `coupon load`, its numbers appended to $RESULTS.
run() {
  local store=$1 scenario=$2 n=$3 args=() out
  args=(load --users "$USERS" --quantity "$QUANTITY" --redoubt-bin "$WORK/bin/redoubt"
    --coupon-bin "$WORK/bin/coupon")
  if [ "$store" = redis ]; then
    args+=(--server-bin /usr/bin/redis-server --sentinel-bin /usr/bin/redis-sentinel)
  fi
  if [ "$scenario" = full-speed ]; then
    args+=(--rate 0 --concurrency 256)
  else
    args+=(--rate "$RATE" --drill kill-primary --durability replicated)
  fi
  out=$WORK/$store-$scenario-$n.txt
  log "$store $scenario run $n"
  if ! COUPON_LOG=warn timeout 900 "$WORK/bin/coupon" "${args[@]}" >"$out" 2>"$out.err"; then
    echo "coupon load failed ($store $scenario): see below" >&2
    tail -30 "$out" "$out.err" >&2
    exit 1
  fi
  python3 - "$store" "$scenario" "$out" >>"$RESULTS" <<'PY'
import re, sys
store, scenario, path = sys.argv[1:]
text = open(path).read()
def num(pattern, default="nan"):
    m = re.search(pattern, text)
    return m.group(1) if m else default
print("\t".join([store, scenario,
    num(r"requests: \d+ .*? ([\d.]+) requests/s"),
    num(r"latency \(ms\): request p50 ([\d.]+)"),
    num(r"latency \(ms\): request p50 [\d.]+ p99 ([\d.]+)"),
    num(r"unavailability: (\d+) ms", "0"),
    num(r"confirmed-but-lost (\d+)")]))
PY
}

for n in $(seq 1 "$REPEAT"); do
  for scenario in full-speed kill-primary; do
    for store in redoubt redis; do run "$store" "$scenario" "$n"; done
  done
done

python3 - "$RESULTS" "$REPEAT" "$USERS" "$RATE" <<'PY'
import statistics, sys
path, repeat, users, rate = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
def median(store, scenario, col):
    vals = [float(r[col]) for r in rows if r[0] == store and r[1] == scenario and r[col] != "nan"]
    return (statistics.median(vals) if vals else float("nan")), vals
print(f"# coupon load, {users} users for {int(users)//2} coupons, medians of {repeat}; ratio = redoubt / redis")
print("| scenario | metric | redoubt | redis | ratio | redoubt runs | redis runs |")
print("|---|---|---|---|---|---|---|")
metrics = [("full-speed", 2, "requests/s (higher is better)"), ("full-speed", 4, "request p99 (ms)"),
           ("kill-primary", 4, f"request p99 (ms) at {rate}/s"), ("kill-primary", 5, "unavailability (ms)"),
           ("kill-primary", 6, "confirmed-but-lost")]
for scenario, col, name in metrics:
    (a, av), (b, bv) = median("redoubt", scenario, col), median("redis", scenario, col)
    ratio = f"{a / b:.2f}" if b else ("1.00" if a == b else "inf")
    fmt = lambda v: " ".join(f"{x:g}" for x in v)
    print(f"| {scenario} | {name} | {a:g} | {b:g} | {ratio} | {fmt(av)} | {fmt(bv)} |")
PY
