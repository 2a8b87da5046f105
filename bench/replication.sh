#!/usr/bin/env bash
# Side-by-side replication benchmark: redoubt-server vs Debian's redis-server (7.0) in one run, on
# free loopback ports; each implementation replicates to replicas of its own kind. Prints one table
# with ratios (redoubt / redis) and which direction is better for each row.
#
#   bench/replication.sh                                          # full run: 5,000,000 keys, -n 1000000
#   BENCH_REPL_KEYS=200000 BENCH_N=100000 bench/replication.sh    # quick run
#
# Knobs: BENCH_REPL_KEYS (keys for the full syncs, default 5000000), BENCH_REPL_VALUE_SIZE (bytes
# per value, default 100), BENCH_N (requests per redis-benchmark run, default 1000000),
# BENCH_CLIENTS (default 50), BENCH_REPL_BASELINE=0 (skip the runs without replicas),
# BENCH_TIMEOUT (seconds before any single wait gives up, default 600), BENCH_BUILD=0 (skip
# `cargo build`, use the existing binary), BENCH_REDOUBT_BIN / BENCH_REDOUBT_ARGS (another binary /
# extra directives for the redoubt column), TMPDIR (work dir: disk-based syncs write RDB files
# there).
#
# What it measures, for each implementation:
#   1. full sync: a primary filled with DEBUG POPULATE <keys> key <size> (both implementations
#      have it, behind enable-debug-command); then, for repl-diskless-sync no (disk) and yes
#      (diskless, delay 0), a fresh empty replica of the same implementation gets REPLICAOF, and
#      the time until its INFO says master_link_status:up is measured (polled every 10 ms; the
#      replica's DBSIZE must then equal the key count). During each sync the primary's VmHWM is
#      reset first (/proc/<pid>/clear_refs) and read at the end, the RSS of its fork children is
#      sampled every 100 ms, and INFO memory used_memory_peak is read at the end.
#   2. throughput: a fresh primary with two replicas attached and in sync; redis-benchmark -t set
#      and -t get, -P 1 and -P 16, -c 50, -n BENCH_N, -r 1000000. With BENCH_REPL_BASELINE=1 the same
#      runs on a primary without replicas, for the cost of replication.
#   3. replica lag during the SET runs of 2: every 100 ms, the primary's master_repl_offset minus
#      each replica's slave_repl_offset (bytes), max and mean over both replicas; and how long the
#      replicas take to catch up once the load stops.
# A step that fails prints "n/a (...)" in its cells and the run goes on. Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${BENCH_REPL_KEYS:-5000000}
VSIZE=${BENCH_REPL_VALUE_SIZE:-100}
N=${BENCH_N:-1000000}
CLIENTS=${BENCH_CLIENTS:-50}
BASELINE=${BENCH_REPL_BASELINE:-1}
TIMEOUT=${BENCH_TIMEOUT:-600}

for tool in redis-server redis-benchmark redis-cli python3 timeout; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y redis-server redis-tools" >&2; exit 1; }
done
if [ "${BENCH_BUILD:-1}" = 1 ]; then cargo build --release -q -p redoubt
else echo "# BENCH_BUILD=0: using the existing target/release/redoubt-server" >&2; fi
SERVERS=(redoubt redis)

WORK=$(mktemp -d)
# A private copy, so that a rebuild during the run cannot swap the binary between starts.
SRC_redoubt=${BENCH_REDOUBT_BIN:-target/release/redoubt-server}
cp "$SRC_redoubt" "$WORK/redoubt-server"
BIN_redoubt=$WORK/redoubt-server
BIN_redis=$(command -v redis-server)
ARGS_redoubt=() ARGS_redis=()
[ -z "${BENCH_REDOUBT_ARGS:-}" ] ||
  mapfile -t ARGS_redoubt < <(python3 -c 'import shlex, sys; print("\n".join(shlex.split(sys.argv[1])))' "$BENCH_REDOUBT_ARGS")
PIDS=()
RESULTS=$WORK/results.tsv
REPORTED=0
: >"$RESULTS"

log() { echo "# [$(date +%H:%M:%S)] $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# put METRIC SERVER VALUE [BETTER]: BETTER is "lower" or "higher" (shown in the table).
put() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >>"$RESULTS"; }
na() { # error text [kind] -> "n/a (failed: ...)" on one line
  local e
  e=$(printf '%s' "$1" | tr '\r\n\t' '   ' | sed -e 's/  */ /g' -e 's/^ //' -e 's/ $//')
  [ ${#e} -gt 90 ] && e="${e:0:87}..."
  printf 'n/a (%s: %s)' "${2:-failed}" "$e"
}

# --- python helpers ---------------------------------------------------------------------------
cat >"$WORK/h.py" <<'PY'
import os, socket, sys, time

def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False

class Conn:
    def __init__(self, port, timeout):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")
    def call(self, *args):
        args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
        line = self.f.readline()
        if not line:
            raise OSError("connection closed")
        if line[:1] == b"$":
            ln = int(line[1:])
            return b"" if ln < 0 else self.f.read(ln + 2)[:-2]
        return line.rstrip(b"\r\n")
    def info(self, section):
        r = self.call("INFO", section)
        return dict(l.split(":", 1) for l in r.decode(errors="replace").split("\r\n") if ":" in l)
    def close(self):
        try: self.s.close()
        except OSError: pass

def fail(msg, code=2):
    print(msg); sys.exit(code)

def ready(port, pid, timeout):
    """Poll until the server answers PING with +PONG. Exit 2 on timeout, 3 if the process exited."""
    deadline = time.time() + timeout
    while True:
        if time.time() > deadline: fail(f"no PONG within {timeout}s")
        if not alive(pid): fail("server exited", 3)
        try:
            c = Conn(port, 5)
            r = c.call("PING"); c.close()
            if r == b"+PONG": return
        except OSError:
            pass
        time.sleep(0.01)

def info(port, section, field):
    print(Conn(port, 30).info(section).get(field, ""))

def populate(port, keys, size, timeout):
    c = Conn(port, timeout)
    t = time.time()
    r = c.call("DEBUG", "POPULATE", keys, "key", size)
    if r != b"+OK": fail(f"DEBUG POPULATE: {r.decode(errors='replace')}")
    n = c.call("DBSIZE")
    if n != b":%d" % keys: fail(f"DBSIZE after DEBUG POPULATE: {n.decode()}")
    print(f"{time.time() - t:.3f}")

def status_kb(pid, field):
    try:
        for l in open(f"/proc/{pid}/status"):
            if l.startswith(field + ":"): return int(l.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0

def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                try:
                    kids = open(f"/proc/{p}/task/{t}/children").read().split()
                except OSError:
                    kids = []
                for k in kids:
                    out.append(int(k)); todo.append(int(k))
        except OSError:
            pass
    return out

def fullsync(pport, ppid, rport, rpid, keys, timeout):
    """REPLICAOF on the (empty) replica; time to master_link_status:up. Prints one TSV line:
    secs, primary VmHWM MiB, fork children peak RSS MiB, used_memory_peak MiB,
    used_memory_peak - used_memory before MiB, primary RSS before MiB, rdb_last_cow_size MiB,
    replica used_memory MiB."""
    p, r = Conn(pport, 30), Conn(rport, 30)
    used_before = int(p.info("memory")["used_memory"])
    rss_before = status_kb(ppid, "VmRSS")
    with open(f"/proc/{ppid}/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    child_peak = 0
    t0 = time.time()
    rep = r.call("REPLICAOF", "127.0.0.1", pport)
    if not rep.startswith(b"+OK"): fail(f"REPLICAOF: {rep.decode(errors='replace')}")
    deadline, next_sample = t0 + timeout, 0.0
    while True:
        now = time.time()
        if now >= next_sample:
            child_peak = max(child_peak, sum(status_kb(k, "VmRSS") for k in descendants(ppid)))
            next_sample = now + 0.1
        try:
            if r.info("replication").get("master_link_status") == "up":
                break
        except OSError as e:
            r.close()
            try: r = Conn(rport, 30)
            except OSError: pass
        if not alive(rpid): fail("replica exited", 3)
        if not alive(ppid): fail("primary exited", 3)
        if now > deadline: fail(f"link not up within {timeout}s")
        time.sleep(0.01)
    secs = time.time() - t0
    hwm = status_kb(ppid, "VmHWM")
    mem = p.info("memory")
    peak = int(mem.get("used_memory_peak", 0))
    cow = p.info("persistence").get("rdb_last_cow_size", "")
    n = r.call("DBSIZE")
    if n != b":%d" % keys: fail(f"replica DBSIZE {n.decode()} after the sync, wanted {keys}")
    r_used = int(r.info("memory")["used_memory"])
    M = 2 ** 20
    cow_s = f"{int(cow) / M:.1f}" if cow.strip().isdigit() else "n/a (not reported)"
    print(f"{secs:.3f}\t{hwm / 1024:.1f}\t{child_peak / 1024:.1f}\t{peak / M:.1f}\t"
          f"{max(0, peak - used_before) / M:.1f}\t{rss_before / 1024:.1f}\t{cow_s}\t{r_used / M:.1f}")

def wait_up(port, timeout):
    c = Conn(port, 30)
    deadline = time.time() + timeout
    while c.info("replication").get("master_link_status") != "up":
        if time.time() > deadline: fail(f"replica on {port}: link not up within {timeout}s")
        time.sleep(0.02)

def lag(pport, rports, stopfile, timeout):
    """Every 100 ms until stopfile exists: primary master_repl_offset minus each replica's
    slave_repl_offset. Then the time until every replica has caught up. Prints max, mean,
    samples, catch-up seconds (TSV)."""
    p = Conn(pport, 30)
    rs = [Conn(x, 30) for x in rports]
    lags = []
    while not os.path.exists(stopfile):
        t = time.time()
        po = int(p.info("replication")["master_repl_offset"])
        for r in rs:
            ro = int(r.info("replication")["slave_repl_offset"])
            lags.append(max(0, po - ro))
        time.sleep(max(0, 0.1 - (time.time() - t)))
    t0 = time.time()
    while True:
        po = int(p.info("replication")["master_repl_offset"])
        if all(int(r.info("replication")["slave_repl_offset"]) >= po for r in rs):
            break
        if time.time() - t0 > timeout:
            print(f"{max(lags or [0])}\t{sum(lags) / max(1, len(lags)):.0f}\t{len(lags)}\tnot within {timeout}s")
            return
        time.sleep(0.005)
    mx = max(lags) if lags else 0
    mean = sum(lags) / len(lags) if lags else 0
    print(f"{mx}\t{mean:.0f}\t{len(lags)}\t{time.time() - t0:.3f}")

def csvcol(path, test, col):
    import csv
    cols = {"rps": 1, "avg": 2, "p50": 4, "p95": 5, "p99": 6, "max": 7}
    for r in csv.reader(open(path)):
        if r and r[0].split()[0] == test:
            print(r[cols[col]]); return
    print("")

def report(path, partial):
    rows, order, better = {}, [], {}
    for line in open(path, encoding="utf-8", errors="replace"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 4: continue
        m, srv, v, b = parts
        if m not in rows:
            rows[m] = {}; order.append(m)
        rows[m][srv] = v
        if b: better[m] = b
    def num(v):
        try: return float(v)
        except (TypeError, ValueError): return None
    out = []
    for m in order:
        if m.startswith("#"):
            out.append((m, None, None, None, None)); continue
        a, b = rows[m].get("redoubt", "-"), rows[m].get("redis", "-")
        x, y = num(a), num(b)
        ratio = f"{x / y:.2f}" if x is not None and y not in (None, 0.0) else "-"
        out.append((m, a, b, ratio, better.get(m, "")))
    body = [r for r in out if r[1] is not None]
    w0 = max([len("metric")] + [len(r[0]) for r in body])
    w1 = max([len("redoubt")] + [len(r[1]) for r in body])
    w2 = max([len("redis")] + [len(r[2]) for r in body])
    if partial:
        print("# PARTIAL: the run stopped early; rows so far:")
    print(f"{'metric':<{w0}}  {'redoubt':>{w1}}  {'redis':>{w2}}  {'ratio':>6}  better")
    for m, a, b, r, d in out:
        if a is None:
            print(m); continue
        print(f"{m:<{w0}}  {a:>{w1}}  {b:>{w2}}  {r:>6}  {d}")

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "ready": ready(int(a[0]), int(a[1]), float(a[2]))
elif cmd == "info": info(int(a[0]), a[1], a[2])
elif cmd == "populate": populate(int(a[0]), int(a[1]), int(a[2]), float(a[3]))
elif cmd == "fullsync": fullsync(int(a[0]), int(a[1]), int(a[2]), int(a[3]), int(a[4]), float(a[5]))
elif cmd == "waitup": wait_up(int(a[0]), float(a[1]))
elif cmd == "lag": lag(int(a[0]), [int(x) for x in a[1].split(",")], a[2], float(a[3]))
elif cmd == "csv": csvcol(a[0], a[1], a[2])
elif cmd == "report": report(a[0], a[1] == "1")
PY
H() { python3 "$WORK/h.py" "$@"; }

cleanup() {
  local rc=$?
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  if [ "$REPORTED" = 0 ] && [ -s "$RESULTS" ]; then H report "$RESULTS" 1 || true; fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME DIR [ARGS...]: starts a server in DIR on a free port; sets PID and PORT; returns 0
# once it answers PING, or 1 with ERR set.
start() {
  local name=$1 dir=$2 bin out rc; shift 2
  bin=BIN_$name; bin=${!bin}
  local -n extra=ARGS_$name
  mkdir -p "$dir"
  PORT=$(free_port)
  (cd "$dir" && exec "$bin" --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
    --logfile "$dir/server.log" --enable-debug-command yes --repl-diskless-sync-delay 0 \
    "$@" ${extra[@]+"${extra[@]}"} >/dev/null 2>"$dir/stderr") &
  PID=$!
  PIDS+=("$PID")
  rc=0; out=$(H ready "$PORT" "$PID" 60) || rc=$?
  [ "$rc" = 0 ] && return 0
  ERR=$(grep -v '^\s*$' "$dir/stderr" 2>/dev/null | tail -n 1 || true)
  [ -n "$ERR" ] || ERR=$(grep -iE 'error|fatal' "$dir/server.log" 2>/dev/null | tail -n 1 || true)
  [ -n "$ERR" ] || ERR="$name did not become ready: $out"
  stop "$PID"
  return 1
}
stop() { kill -KILL "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
info() { H info "$1" "$2" "$3"; }

# --- machine ----------------------------------------------------------------------------------
mem_total=$(awk '/^MemTotal:/{printf "%.1f", $2/1048576}' /proc/meminfo)
mem_avail=$(awk '/^MemAvailable:/{printf "%.1f", $2/1048576}' /proc/meminfo)
cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
fs=$(df -PT "$WORK" | awk 'NR==2{print $2" on "$1}')
rev=$(git rev-parse --short HEAD 2>/dev/null || echo dev)
git diff --quiet HEAD -- crates 2>/dev/null || rev="$rev+uncommitted"
rev="$rev, binary $SRC_redoubt built $(date -u -r "$SRC_redoubt" '+%Y-%m-%d %H:%M UTC')${BENCH_REDOUBT_ARGS:+, extra args: $BENCH_REDOUBT_ARGS}"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(nproc) cores (${cpu:-?}), ${mem_total} GiB RAM (${mem_avail} GiB available), load average $(cut -d' ' -f1-3 /proc/loadavg), work dir on $fs"
echo "# redis $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/'), redoubt $rev"
echo "# $KEYS keys of $VSIZE-byte values for the full syncs; redis-benchmark -n $N -c $CLIENTS -r 1000000"
# A primary and its replica each hold the dataset (~ (90 + size) B/key), plus copy-on-write.
need_gib=$(python3 -c "print(f'{$KEYS * (3 * (90 + $VSIZE) + 200) / 2**30:.1f}')")
python3 -c "import sys; sys.exit(0 if $need_gib < $mem_avail else 1)" ||
  log "WARNING: this size may need ~${need_gib} GiB, only ${mem_avail} GiB available"

NOTES=()

# --- 1. full sync -----------------------------------------------------------------------------
put "# 1. full sync of a fresh replica: DEBUG POPULATE $KEYS key $VSIZE on the primary, REPLICAOF -> master_link_status:up" - - ""
SYNC_METRICS=("time (s)|lower" "primary VmHWM during sync (MiB)|lower" "fork child peak RSS (MiB, shared pages incl.)|lower" "primary used_memory_peak (MiB)|lower" "used_memory_peak over pre-sync used_memory (MiB)|lower" "primary RSS before sync (MiB)|lower" "rdb_last_cow_size (MiB)|lower" "replica used_memory after sync (MiB)|lower")
for s in "${SERVERS[@]}"; do
  log "$s: starting the primary and filling $KEYS keys"
  if ! start "$s" "$WORK/$s-primary"; then
    put "fill: DEBUG POPULATE (s)" "$s" "$(na "$ERR")" lower
    for mode in disk diskless; do for m in "${SYNC_METRICS[@]}"; do put "$mode: ${m%|*}" "$s" "$(na "primary did not start")" "${m#*|}"; done; done
    continue
  fi
  PPORT=$PORT PPID_=$PID
  rc=0; out=$(H populate "$PPORT" "$KEYS" "$VSIZE" "$TIMEOUT") || rc=$?
  if [ "$rc" != 0 ]; then
    put "fill: DEBUG POPULATE (s)" "$s" "$(na "$out")" lower
    for mode in disk diskless; do for m in "${SYNC_METRICS[@]}"; do put "$mode: ${m%|*}" "$s" "$(na "no dataset")" "${m#*|}"; done; done
    stop "$PPID_"; continue
  fi
  put "fill: DEBUG POPULATE (s)" "$s" "$out" lower
  put "fill: primary used_memory (MiB)" "$s" "$(python3 -c "print(f'{$(info "$PPORT" memory used_memory) / 2**20:.1f}')")" lower
  for mode in disk diskless; do
    yes=no; [ "$mode" = diskless ] && yes=yes
    redis-cli -p "$PPORT" config set repl-diskless-sync "$yes" >/dev/null
    log "$s: $mode full sync"
    if ! start "$s" "$WORK/$s-replica-$mode"; then
      for m in "${SYNC_METRICS[@]}"; do put "$mode: ${m%|*}" "$s" "$(na "replica: $ERR")" "${m#*|}"; done
      continue
    fi
    RPID=$PID
    rc=0; out=$(H fullsync "$PPORT" "$PPID_" "$PORT" "$RPID" "$KEYS" "$TIMEOUT") || rc=$?
    if [ "$rc" = 0 ]; then
      IFS=$'\t' read -r -a vals <<<"$out"
      for i in "${!SYNC_METRICS[@]}"; do
        m=${SYNC_METRICS[$i]}; put "$mode: ${m%|*}" "$s" "${vals[$i]}" "${m#*|}"
      done
    else
      for m in "${SYNC_METRICS[@]}"; do put "$mode: ${m%|*}" "$s" "$(na "$out")" "${m#*|}"; done
    fi
    stop "$RPID"
    rm -rf "$WORK/$s-replica-$mode"
  done
  stop "$PPID_"
  rm -rf "$WORK/$s-primary"
done

# --- 2 and 3. throughput with two replicas, and their lag --------------------------------------
put "# 2. redis-benchmark -n $N -c $CLIENTS -r 1000000 on a fresh primary; 3. lag = primary master_repl_offset - replica slave_repl_offset, sampled every 100 ms during the SET runs" - - ""
bench() { # port test pipeline csv
  timeout "$TIMEOUT" redis-benchmark -p "$1" -t "$2" -n "$N" -c "$CLIENTS" -P "$3" -r 1000000 --csv >"$4" 2>/dev/null
}
RUNS=("set 1" "set 16" "get 1" "get 16")
for s in "${SERVERS[@]}"; do
  if [ "$BASELINE" = 1 ]; then
    log "$s: runs without replicas"
    if start "$s" "$WORK/$s-alone"; then
      for run in "${RUNS[@]}"; do
        read -r t p <<<"$run"; T=${t^^}
        csv=$WORK/alone-$s-$t-$p.csv
        rc=0; bench "$PORT" "$t" "$p" "$csv" || rc=$?
        v=$(H csv "$csv" "$T" rps)
        [ "$rc" = 0 ] && [ -n "$v" ] || v=$(na "redis-benchmark exited with $rc")
        put "$T -P$p rps, no replicas" "$s" "$v" higher
      done
      stop "$PID"; rm -rf "$WORK/$s-alone"
    else
      for run in "${RUNS[@]}"; do read -r t p <<<"$run"; put "${t^^} -P$p rps, no replicas" "$s" "$(na "$ERR")" higher; done
    fi
  fi

  log "$s: primary with two replicas"
  fail="" P2PID=""
  if start "$s" "$WORK/$s-p2"; then P2PORT=$PORT P2PID=$PID; else fail="primary: $ERR"; fi
  RPORTS=() R2PIDS=()
  for i in 1 2; do
    [ -z "$fail" ] || break
    if start "$s" "$WORK/$s-r2-$i" --replicaof 127.0.0.1 "$P2PORT"; then
      RPORTS+=("$PORT"); R2PIDS+=("$PID")
      out=$(H waitup "$PORT" "$TIMEOUT") || fail="replica $i: $out"
    else
      fail="replica $i: $ERR"
    fi
  done
  for run in "${RUNS[@]}"; do
    read -r t p <<<"$run"; T=${t^^}
    label="$T -P$p"
    if [ -n "$fail" ]; then
      put "$label rps, 2 replicas" "$s" "$(na "$fail")" higher
      put "$label p99 ms, 2 replicas" "$s" "$(na "$fail")" lower
      if [ "$t" = set ]; then for m in "max (bytes)" "mean (bytes)" "catch-up after load (s)"; do put "$label lag: $m" "$s" "$(na "$fail")" lower; done; fi
      continue
    fi
    log "$s: $label with two replicas"
    csv=$WORK/repl-$s-$t-$p.csv
    stopfile=$WORK/stop-$s-$t-$p
    lagout=$WORK/lag-$s-$t-$p
    if [ "$t" = set ]; then
      (H lag "$P2PORT" "$(IFS=,; echo "${RPORTS[*]}")" "$stopfile" "$TIMEOUT" >"$lagout" 2>&1) &
      LAGPID=$!; PIDS+=("$LAGPID")
    fi
    rc=0; bench "$P2PORT" "$t" "$p" "$csv" || rc=$?
    v=$(H csv "$csv" "$T" rps); q=$(H csv "$csv" "$T" p99)
    if [ "$rc" = 0 ] && [ -n "$v" ]; then
      put "$label rps, 2 replicas" "$s" "$v" higher
      put "$label p99 ms, 2 replicas" "$s" "$q" lower
    else
      put "$label rps, 2 replicas" "$s" "$(na "redis-benchmark exited with $rc")" higher
      put "$label p99 ms, 2 replicas" "$s" "$(na "redis-benchmark exited with $rc")" lower
    fi
    if [ "$t" = set ]; then
      touch "$stopfile"
      lrc=0; wait "$LAGPID" || lrc=$?
      if [ "$lrc" = 0 ] && IFS=$'\t' read -r lmax lmean lsamples lcatch <"$lagout" && [ -n "${lcatch:-}" ]; then
        put "$label lag: max (bytes)" "$s" "$lmax" lower
        put "$label lag: mean (bytes)" "$s" "$lmean" lower
        put "$label lag: catch-up after load (s)" "$s" "$lcatch" lower
        [ "$lsamples" -ge 10 ] || NOTES+=("$s $label: only $lsamples lag samples (run shorter than ~0.5 s per replica)")
      else
        e=$(tail -n 1 "$lagout" 2>/dev/null || true)
        for m in "max (bytes)" "mean (bytes)" "catch-up after load (s)"; do put "$label lag: $m" "$s" "$(na "sampler: ${e:-exit $lrc}")" lower; done
      fi
    fi
  done
  if [ -z "$fail" ]; then
    # The replicas must hold what the primary holds once they caught up.
    pn=$(redis-cli -p "$P2PORT" dbsize | tr -d '\r')
    for rp in "${RPORTS[@]}"; do
      rn=$(redis-cli -p "$rp" dbsize | tr -d '\r')
      [ "$rn" = "$pn" ] || NOTES+=("$s: a replica has DBSIZE $rn, its primary $pn, after the load")
    done
  fi
  [ -z "$P2PID" ] || stop "$P2PID"
  for rp in "${R2PIDS[@]:-}"; do [ -n "$rp" ] && stop "$rp"; done
  rm -rf "$WORK/$s-p2" "$WORK/$s-r2-1" "$WORK/$s-r2-2"
done

echo "# ratio = redoubt / redis; 'better' says which direction is better for that row (lower for times, memory, latency and lag; higher for rps)"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
H report "$RESULTS" 0
REPORTED=1
for note in "${NOTES[@]:-}"; do [ -n "$note" ] && echo "# note: $note"; done
exit 0
