#!/usr/bin/env bash
# Side-by-side persistence benchmark: redoubt-server vs Debian's redis-server in one run, on free
# loopback ports, with the same dataset and the same redis-benchmark workloads. Prints one table
# with ratios (redoubt / redis).
#
#   bench/persist.sh                                           # full run: 5,000,000 keys, -n 1000000
#   BENCH_PERSIST_KEYS=200000 BENCH_N=100000 bench/persist.sh  # quick run
#
# Knobs: BENCH_PERSIST_KEYS (dataset size, default 5000000), BENCH_N (requests of the AOF
# throughput runs, default 1000000), BENCH_CLIENTS (default 50), BENCH_LOAD_SECS and
# BENCH_MAX_LOAD_SECS (bounds on the length of the latency runs, default 3 and 60), BENCH_TIMEOUT
# (seconds before any single wait gives up, default 600; a SAVE slower than that is reported as
# n/a), BENCH_BUILD=0 (skip `cargo build`, use the existing binary, e.g. while the tree does not
# compile), BENCH_REDOUBT_BIN / BENCH_REDOUBT_ARGS (another binary / extra directives in the
# redoubt column, e.g. an older build), TMPDIR (where the work dir goes: RDB/AOF files are written
# there, so it should be a real disk, not tmpfs, for the fsync numbers to mean anything).
#
# What it measures, for each server:
#   1. fill: time to pipe the same generated RESP file (mixed keys: 60% strings of 16-100 bytes,
#      10% each small hash / list / set / zset, 1 in 7 with a TTL) through `redis-cli --pipe`.
#   2. SAVE: wall time of `redis-cli SAVE`, and the size of the RDB file.
#   3. load: restart on that RDB; time from process start until DBSIZE equals the key count
#      (LOADING errors, refused connections and partial counts are all polled through).
#   4. latency during BGSAVE: redis-benchmark -t set (then -t get) -c 50 -r <keys> --csv runs
#      twice with the same -n, sized for clamp(0.5 + 2 x SAVE time, BENCH_LOAD_SECS,
#      BENCH_MAX_LOAD_SECS) seconds: once alone, once with a BGSAVE issued 0.5 s in. rps/p99/max
#      from the CSV, plus the BGSAVE's wall time (until INFO shows rdb_bgsave_in_progress:0), the
#      share of the run it overlapped, rdb_last_bgsave_time_sec, latest_fork_usec and
#      rdb_last_cow_size.
#   5. redis-benchmark -t set -P 16 -n BENCH_N -c 50 on fresh servers with --appendonly no,
#      --appendonly yes --appendfsync everysec, and --appendonly yes --appendfsync always.
# A step the server does not support prints "n/a (unsupported: <error>)" and the run goes on.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${BENCH_PERSIST_KEYS:-5000000}
N=${BENCH_N:-1000000}
CLIENTS=${BENCH_CLIENTS:-50}
MIN_LOAD_SECS=${BENCH_LOAD_SECS:-3}
MAX_LOAD_SECS=${BENCH_MAX_LOAD_SECS:-60}
TIMEOUT=${BENCH_TIMEOUT:-600}

for tool in redis-server redis-benchmark redis-cli python3 timeout; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y redis-server redis-tools" >&2; exit 1; }
done
if [ "${BENCH_BUILD:-1}" = 1 ]; then cargo build --release -q -p redoubt
else echo "# BENCH_BUILD=0: using the existing target/release/redoubt-server" >&2; fi
SERVERS=(redoubt redis)

WORK=$(mktemp -d)
# A private copy, so that a rebuild during the run cannot swap the binary between restarts.
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
now() { date +%s.%N; }
elapsed() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.3f}")' "$1" "$2"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
put() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; } # metric server value
na() { # error text [kind] -> "n/a (unsupported: ...)" (or "n/a (failed: ...)") on one line
  local e
  e=$(printf '%s' "$1" | tr '\r\n\t' '   ' | sed -e 's/  */ /g' -e 's/^ //' -e 's/ $//')
  [ ${#e} -gt 90 ] && e="${e:0:87}..."
  printf 'n/a (%s: %s)' "${2:-unsupported}" "$e"
}

# --- python helpers: dataset generator, readiness/INFO polling, CSV parsing, the report --------
cat >"$WORK/h.py" <<'PY'
import os, random, socket, sys, time

def gen(n, path):
    """Mixed dataset as RESP: i%10 in 0..5 string, 6 hash, 7 list, 8 set, 9 zset; 1 in 7 keys
    gets a one-week TTL (so nothing expires during the run and DBSIZE stays == n)."""
    rnd = random.Random(20240501)
    alpha = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    pool = bytes(rnd.choice(alpha) for _ in range(1 << 20))
    plen = len(pool) - 128
    def s(lo, hi):
        o = rnd.randrange(plen)
        return pool[o:o + rnd.randint(lo, hi)]
    with open(path, "wb", buffering=1 << 22) as out:
        w = out.write
        def cmd(*args):
            w(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
        for i in range(n):
            t = i % 10
            ttl = i % 7 == 3
            if t < 6:
                k = b"key:%012d" % i
                if ttl:
                    cmd(b"SET", k, s(16, 100), b"EX", b"%d" % (604800 + i % 3600))
                else:
                    cmd(b"SET", k, s(16, 100))
                continue
            m = 3 + rnd.randrange(8)
            if t == 6:
                k = b"hash:%012d" % i
                args = []
                for f in range(m):
                    args += [b"field%d" % f, s(4, 24) if f % 2 else b"%d" % rnd.randrange(100000)]
                cmd(b"HSET", k, *args)
            elif t == 7:
                k = b"list:%012d" % i
                cmd(b"RPUSH", k, *[s(5, 30) for _ in range(m)])
            elif t == 8:
                k = b"set:%012d" % i
                if (i // 10) % 2:
                    cmd(b"SADD", k, *[b"%d" % rnd.randrange(1 << 30) for _ in range(m)])
                else:
                    cmd(b"SADD", k, *[b"m%d:" % j + s(4, 16) for j in range(m)])
            else:
                k = b"zset:%012d" % i
                args = []
                for j in range(m):
                    args += [b"%.3f" % (rnd.random() * 1000), b"m%d:" % j + s(4, 16)]
                cmd(b"ZADD", k, *args)
            if ttl:
                cmd(b"EXPIRE", k, b"%d" % (604800 + i % 3600))

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
        self.s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in map(str.encode, args)))
        line = self.f.readline()
        if not line:
            raise OSError("connection closed")
        if line[:1] == b"$":
            ln = int(line[1:])
            return b"" if ln < 0 else self.f.read(ln + 2)[:-2]
        return line.rstrip(b"\r\n")
    def close(self):
        try: self.s.close()
        except OSError: pass

def ready(port, pid, expect, t0, timeout):
    """Poll until the server answers PING (expect < 0) or DBSIZE == expect. Prints seconds since
    t0; exit 2 on timeout, 3 if the process exited (message on stdout)."""
    deadline = time.time() + timeout
    c = None
    while True:
        if time.time() > deadline:
            print(f"timed out after {timeout}s"); sys.exit(2)
        if not alive(pid):
            print("server exited"); sys.exit(3)
        try:
            if c is None:
                c = Conn(port, min(30, max(1, deadline - time.time())))
            r = c.call("PING") if expect < 0 else c.call("DBSIZE")
            if expect < 0 and r == b"+PONG":
                break
            if expect >= 0 and r[:1] == b":" and int(r[1:]) == expect:
                break
        except (OSError, ValueError):
            if c: c.close()
            c = None
        time.sleep(0.005)
    print(f"{time.time() - t0:.3f}")

def info(port, section, field):
    c = Conn(port, 30)
    for line in c.call("INFO", section).decode().splitlines():
        if line.startswith(field + ":"):
            print(line.split(":", 1)[1]); return
    print("")

def waitinfo(port, section, field, value, t0, timeout):
    """Poll INFO until field == value; prints seconds since t0. Exit 2 on timeout, 4 if absent."""
    c = Conn(port, 30)
    deadline = time.time() + timeout
    while True:
        vals = dict(l.split(":", 1) for l in c.call("INFO", section).decode().splitlines() if ":" in l)
        if field not in vals:
            print(f"INFO {section} has no {field}"); sys.exit(4)
        if vals[field].strip() == value:
            break
        if time.time() > deadline:
            print(f"timed out after {timeout}s"); sys.exit(2)
        time.sleep(0.01)
    print(f"{time.time() - t0:.3f}")

def csvcol(path, test, col):
    import csv
    cols = {"rps": 1, "avg": 2, "p50": 4, "p95": 5, "p99": 6, "max": 7}
    for r in csv.reader(open(path)):
        if r and r[0].split()[0] == test:
            print(r[cols[col]]); return
    print("")

def report(path, partial):
    rows, order = {}, []
    for line in open(path, encoding="utf-8", errors="replace"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 3: continue
        m, srv, v = parts
        if m not in rows:
            rows[m] = {}; order.append(m)
        rows[m][srv] = v
    def num(v):
        try: return float(v)
        except (TypeError, ValueError): return None
    out = []
    for m in order:
        if m.startswith("#"):
            out.append((m, None, None, None)); continue
        a, b = rows[m].get("redoubt", "-"), rows[m].get("redis", "-")
        x, y = num(a), num(b)
        ratio = f"{x / y:.2f}" if x is not None and y not in (None, 0.0) else "-"
        out.append((m, a, b, ratio))
    w0 = max([len("metric")] + [len(r[0]) for r in out if r[1] is not None])
    w1 = max([len("redoubt")] + [len(r[1]) for r in out if r[1] is not None])
    w2 = max([len("redis")] + [len(r[2]) for r in out if r[1] is not None])
    if partial:
        print("# PARTIAL: the run stopped early; rows so far:")
    print(f"{'metric':<{w0}}  {'redoubt':>{w1}}  {'redis':>{w2}}  {'ratio':>6}")
    for m, a, b, r in out:
        if a is None:
            print(m); continue
        print(f"{m:<{w0}}  {a:>{w1}}  {b:>{w2}}  {r:>6}")

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "gen": gen(int(args[0]), args[1])
elif cmd == "ready": ready(int(args[0]), int(args[1]), int(args[2]), float(args[3]), float(args[4]))
elif cmd == "info": info(int(args[0]), args[1], args[2])
elif cmd == "waitinfo": waitinfo(int(args[0]), args[1], args[2], args[3], float(args[4]), float(args[5]))
elif cmd == "csv": csvcol(args[0], args[1], args[2])
elif cmd == "mtime": print(f"{os.stat(args[0]).st_mtime:.3f}" if os.path.getsize(args[0]) else f"{time.time():.3f}")
elif cmd == "report": report(args[0], args[1] == "1")
PY
H() { python3 "$WORK/h.py" "$@"; }

cleanup() {
  local rc=$?
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$REPORTED" = 0 ] && [ -s "$RESULTS" ]; then H report "$RESULTS" 1 || true; fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME DIR [ARGS...]: starts a server in DIR on a free port; sets PID, PORT, T0 (start time)
# and returns 0 once it answers PING, or returns 1 with ERR set (e.g. it refused a directive).
# With WAIT_KEYS=n set, "ready" means DBSIZE == n; READY_SECS gets the time from T0 to ready.
start() {
  local name=$1 dir=$2 bin out rc; shift 2
  bin=BIN_$name; bin=${!bin}
  local -n extra=ARGS_$name
  mkdir -p "$dir"
  PORT=$(free_port)
  T0=$(now)
  (cd "$dir" && exec "$bin" --port "$PORT" --bind 127.0.0.1 --dir "$dir" --dbfilename dump.rdb \
    --save "" --logfile "$dir/server.log" "$@" ${extra[@]+"${extra[@]}"} >/dev/null 2>"$dir/stderr") &
  PID=$!
  PIDS+=("$PID")
  rc=0; out=$(H ready "$PORT" "$PID" "${WAIT_KEYS:--1}" "$T0" "$TIMEOUT") || rc=$?
  if [ "$rc" = 0 ]; then READY_SECS=$out; return 0; fi
  ERR=$(grep -v '^\s*$' "$dir/stderr" 2>/dev/null | tail -n 1 || true)
  [ -n "$ERR" ] || ERR=$(grep -iE 'error|fatal|unsupported' "$dir/server.log" 2>/dev/null | tail -n 1 || true)
  [ -n "$ERR" ] || ERR="$name did not become ready: $out"
  stop "$PID"
  return 1
}
stop() { kill -KILL "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
info() { H info "$1" "$2" "$3"; }
dbsize() { timeout "$TIMEOUT" redis-cli -p "$1" dbsize 2>&1 | tr -d '\r'; }

# --- machine --------------------------------------------------------------------------------
mem_total=$(awk '/^MemTotal:/{printf "%.1f", $2/1048576}' /proc/meminfo)
mem_avail=$(awk '/^MemAvailable:/{printf "%.1f", $2/1048576}' /proc/meminfo)
cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
fs=$(df -PT "$WORK" | awk 'NR==2{print $2" on "$1}')
rev=$(git rev-parse --short HEAD 2>/dev/null || echo dev)
git diff --quiet HEAD -- crates 2>/dev/null || rev="$rev+uncommitted"
rev="$rev, binary $SRC_redoubt built $(date -u -r "$SRC_redoubt" '+%Y-%m-%d %H:%M UTC')${BENCH_REDOUBT_ARGS:+, extra args: $BENCH_REDOUBT_ARGS}"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(nproc) cores (${cpu:-?}), ${mem_total} GiB RAM (${mem_avail} GiB available), load average $(cut -d' ' -f1-3 /proc/loadavg), work dir on $fs"
echo "# redis $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/'), redoubt $rev; $KEYS keys, BENCH_N=$N, $CLIENTS clients"
# Footprint at 5M keys was ~230 B/key of used_memory per server, a 150 B/key RESP file, 106 B/key
# per RDB, and copy-on-write during BGSAVE up to one more dataset: ~1 KB/key all told. Warn at
# 1.4 KB/key rather than refuse.
need_gib=$(python3 -c "print(f'{$KEYS * 1400 / 2**30:.1f}')")
python3 -c "import sys; sys.exit(0 if $KEYS * 1400 / 2**30 < $mem_avail else 1)" ||
  log "WARNING: this size may need ~${need_gib} GiB, only ${mem_avail} GiB available"

# --- 1. fill --------------------------------------------------------------------------------
log "generating $KEYS keys of RESP"
RESP=$WORK/data.resp
t=$(now); H gen "$KEYS" "$RESP"
log "  $(stat -c %s "$RESP") bytes in $(elapsed "$t" "$(now)") s"

declare -A PORT_OF PID_OF DIR_OF SAVE_SECS
NOTES=()
put "# 1-3. dataset: $KEYS mixed keys (60% strings 16-100 B, 10% each small hash/list/set/zset, 1/7 with TTL)" - -
for s in "${SERVERS[@]}"; do
  DIR_OF[$s]=$WORK/$s-rdb
  start "$s" "${DIR_OF[$s]}" --appendonly no || { log "$s failed to start: $ERR"; exit 1; }
  PORT_OF[$s]=$PORT; PID_OF[$s]=$PID
  used0=$(info "$PORT" memory used_memory)
  log "filling $s"
  t=$(now); rc=0
  out=$(timeout "$TIMEOUT" redis-cli -p "$PORT" --pipe <"$RESP" 2>&1) || rc=$?
  t1=$(now)
  n=$(dbsize "$PORT")
  if [ "$rc" = 0 ] && [ "$n" = "$KEYS" ]; then
    secs=$(elapsed "$t" "$t1")
    put "fill: redis-cli --pipe (s)" "$s" "$secs"
    put "fill: keys/s" "$s" "$(python3 -c "print(round($KEYS / $secs))")"
    grep -q 'errors: 0,' <<<"$out" || NOTES+=("$s: redis-cli --pipe reported $(grep -o 'errors: [0-9]*' <<<"$out")")
    used1=$(info "$PORT" memory used_memory)
    put "fill: used_memory growth (MiB)" "$s" "$(python3 -c "print(f'{($used1 - $used0) / 2**20:.1f}')")"
  else
    put "fill: redis-cli --pipe (s)" "$s" "$(na "rc=$rc dbsize=$n $(tail -n 2 <<<"$out")" failed)"
    log "$s: fill failed (dbsize $n), cannot continue"; exit 1
  fi
done

# --- 2. SAVE ----------------------------------------------------------------------------------
for s in "${SERVERS[@]}"; do
  log "SAVE on $s"
  t=$(now); rc=0
  out=$(timeout "$TIMEOUT" redis-cli -p "${PORT_OF[$s]}" save 2>&1) || rc=$?
  t1=$(now)
  if [ "$rc" = 0 ] && [ "$out" = OK ] && [ -s "${DIR_OF[$s]}/dump.rdb" ]; then
    SAVE_SECS[$s]=$(elapsed "$t" "$t1")
    put "SAVE (s)" "$s" "${SAVE_SECS[$s]}"
    put "RDB size (bytes)" "$s" "$(stat -c %s "${DIR_OF[$s]}/dump.rdb")"
  else
    if [ "$rc" = 124 ]; then out=$(na "no reply within BENCH_TIMEOUT=$TIMEOUT s" failed)
    elif [ "$out" = OK ]; then out=$(na "SAVE said OK but wrote no dump.rdb" failed)
    else out=$(na "${out:-redis-cli exited with $rc}"); fi
    put "SAVE (s)" "$s" "$out"
    put "RDB size (bytes)" "$s" "$out"
  fi
done

# --- 3. load ----------------------------------------------------------------------------------
declare -A DEAD # server -> why its later dataset steps are skipped
for s in "${SERVERS[@]}"; do
  stop "${PID_OF[$s]}"
  if [ ! -s "${DIR_OF[$s]}/dump.rdb" ]; then
    DEAD[$s]="no RDB file: SAVE failed"
    put "load: start -> DBSIZE == keys (s)" "$s" "n/a (${DEAD[$s]})"
    continue
  fi
  log "restarting $s on its RDB"
  if WAIT_KEYS=$KEYS start "$s" "${DIR_OF[$s]}" --appendonly no; then
    PORT_OF[$s]=$PORT; PID_OF[$s]=$PID
    put "load: start -> DBSIZE == keys (s)" "$s" "$READY_SECS"
    put "load: keys/s" "$s" "$(python3 -c "print(round($KEYS / $READY_SECS))")"
  else
    DEAD[$s]="reloading the RDB failed: $ERR"
    put "load: start -> DBSIZE == keys (s)" "$s" "$(na "$ERR" failed)"
  fi
done

# --- 4. latency with and without a BGSAVE ------------------------------------------------------
# redis-benchmark cannot be stopped early with a report, so each run is sized up front: a BGSAVE
# does the same work as the SAVE above (D seconds), a short calibration run gives the request rate,
# and both the baseline and the BGSAVE run send rate x clamp(0.5 + 2 D, BENCH_LOAD_SECS,
# BENCH_MAX_LOAD_SECS) requests. The BGSAVE run issues BGSAVE 0.5 s in, and the next step waits
# for the BGSAVE to end even if the load ended first; "share of run under BGSAVE" says how much of
# the run overlapped it.
put "# 4. redis-benchmark -t set|get -c $CLIENTS -r $KEYS --csv, without and with a BGSAVE issued 0.5 s into the run" - -
BGSAVE_METRICS=("wall time (s)" "share of run under BGSAVE (%)" "rdb_last_bgsave_time_sec" "latest_fork_usec" "rdb_last_cow_size (MiB)")
bgsave() { # port -> 0 and BG_WALL (s), or 1 and BG_ERR; BG_STARTED=1 once BGSAVE was accepted
  local port=$1 t0 reply rc=0
  BG_STARTED=0
  t0=$(now)
  reply=$(timeout 60 redis-cli -p "$port" bgsave 2>&1 | tr -d '\r') || true
  if [[ "$reply" != *"Background saving started"* ]]; then BG_ERR=${reply:-no reply to BGSAVE}; return 1; fi
  BG_STARTED=1
  BG_WALL=$(H waitinfo "$port" persistence rdb_bgsave_in_progress 0 "$t0" "$TIMEOUT") || rc=$?
  if [ "$rc" != 0 ]; then BG_ERR="BGSAVE started, but: $BG_WALL"; return 1; fi
  reply=$(info "$port" persistence rdb_last_bgsave_status)
  if [ "$reply" != ok ]; then BG_ERR="BGSAVE failed: rdb_last_bgsave_status:$reply"; return 1; fi
}
gen_bench() { # port test n csv
  timeout "$TIMEOUT" redis-benchmark -p "$1" -t "$2" -n "$3" -c "$CLIENTS" -r "$KEYS" --csv >"$4" 2>/dev/null
}
bench_rows() { # test server csv label rc
  local v m
  for m in rps p99 max; do
    v=$(H csv "$3" "$1" "$m")
    [ "$5" = 0 ] && [ -n "$v" ] || v=$(na "redis-benchmark exited with $5" failed)
    case $m in rps) put "$1 rps, $4" "$2" "$v" ;; *) put "$1 $m ms, $4" "$2" "$v" ;; esac
  done
}
declare -A BG_ERR_OF RUN_SECS_OF
for s in "${SERVERS[@]}"; do
  [ -z "${DEAD[$s]:-}" ] || continue
  RUN_SECS_OF[$s]=$(python3 -c "print(min($MAX_LOAD_SECS, max($MIN_LOAD_SECS, 0.5 + 2 * ${SAVE_SECS[$s]})))")
  log "calibrating $s"
  rc=0; gen_bench "${PORT_OF[$s]}" set,get 100000 "$WORK/cal-$s.csv" || rc=$?
  [ "$rc" = 0 ] || DEAD[$s]="calibration run failed (rc $rc)"
done
for t in set get; do
  T=${t^^}
  for s in "${SERVERS[@]}"; do
    if [ -n "${DEAD[$s]:-}" ]; then
      for w in "no BGSAVE" "during BGSAVE"; do for m in "rps" "p99 ms" "max ms"; do put "$T $m, $w" "$s" "n/a (${DEAD[$s]})"; done; done
      for m in "${BGSAVE_METRICS[@]}"; do put "BGSAVE under $T: $m" "$s" "n/a (${DEAD[$s]})"; done
      continue
    fi
    port=${PORT_OF[$s]}
    rps=$(H csv "$WORK/cal-$s.csv" "$T" rps)
    n=$(python3 -c "print(max(100000, int(${rps:-0} * ${RUN_SECS_OF[$s]})))")

    log "$T baseline on $s (-n $n)"
    rc=0; gen_bench "$port" "$t" "$n" "$WORK/base-$s-$t.csv" || rc=$?
    bench_rows "$T" "$s" "$WORK/base-$s-$t.csv" "no BGSAVE" "$rc"

    if [ -n "${BG_ERR_OF[$s]:-}" ]; then
      for m in "rps" "p99 ms" "max ms"; do put "$T $m, during BGSAVE" "$s" "$(na "${BG_ERR_OF[$s]}")"; done
      for m in "${BGSAVE_METRICS[@]}"; do put "BGSAVE under $T: $m" "$s" "$(na "${BG_ERR_OF[$s]}")"; done
      continue
    fi
    log "$T with BGSAVE on $s (-n $n)"
    csv=$WORK/bgsave-$s-$t.csv
    g0=$(now)
    gen_bench "$port" "$t" "$n" "$csv" &
    gpid=$!; PIDS+=("$gpid")
    sleep 0.5
    err=""; bgsave "$port" || err=$BG_ERR
    bg_end=$(now)
    if [ -n "$err" ]; then
      kill "$gpid" 2>/dev/null || true; wait "$gpid" 2>/dev/null || true
      [ "$BG_STARTED" = 1 ] || BG_ERR_OF[$s]=$err # not supported: do not try again with GET
      kind=unsupported; [ "$BG_STARTED" = 0 ] || kind=failed
      for m in "rps" "p99 ms" "max ms"; do put "$T $m, during BGSAVE" "$s" "$(na "$err" $kind)"; done
      for m in "${BGSAVE_METRICS[@]}"; do put "BGSAVE under $T: $m" "$s" "$(na "$err" $kind)"; done
      continue
    fi
    rc=0; wait "$gpid" || rc=$?
    # When the load ended: redis-benchmark writes its (buffered) CSV as it exits.
    g1=$(H mtime "$csv")
    bench_rows "$T" "$s" "$csv" "during BGSAVE" "$rc"
    put "BGSAVE under $T: wall time (s)" "$s" "$BG_WALL"
    # The part of the generator's run [g0, g1] that overlapped the BGSAVE [g0 + 0.5, bg_end].
    share=$(python3 -c "g0,g1,b1=$g0,$g1,$bg_end; print(f'{100 * max(0, min(g1, b1) - (b1 - $BG_WALL)) / (g1 - g0):.0f}')")
    put "BGSAVE under $T: share of run under BGSAVE (%)" "$s" "$share"
    python3 -c "import sys; sys.exit(0 if $g1 + 0.1 >= $bg_end else 1)" ||
      NOTES+=("$s: the $T load ($(elapsed "$g0" "$g1") s) ended before its BGSAVE ($BG_WALL s) did: its rows cover the first part of the BGSAVE only")
    v=$(info "$port" persistence rdb_last_bgsave_time_sec)
    put "BGSAVE under $T: rdb_last_bgsave_time_sec" "$s" "${v:-n/a (not reported)}"
    v=$(info "$port" stats latest_fork_usec)
    put "BGSAVE under $T: latest_fork_usec" "$s" "${v:-n/a (not reported)}"
    v=$(info "$port" persistence rdb_last_cow_size)
    [ -n "$v" ] && v=$(python3 -c "print(f'{$v / 2**20:.1f}')") || v="n/a (not reported)"
    put "BGSAVE under $T: rdb_last_cow_size (MiB)" "$s" "$v"
  done
done
for s in "${SERVERS[@]}"; do [ -n "${DEAD[$s]:-}" ] || stop "${PID_OF[$s]}"; done
rm -f "$RESP"

# --- 5. AOF throughput --------------------------------------------------------------------------
put "# 5. redis-benchmark -t set -P 16 -n $N -c $CLIENTS, fresh server in a fresh dir each" - -
for mode in no everysec always; do
  if [ "$mode" = no ]; then label="SET -P16 rps, appendonly no"; args=(--appendonly no)
  else label="SET -P16 rps, appendfsync $mode"; args=(--appendonly yes --appendfsync "$mode"); fi
  for s in "${SERVERS[@]}"; do
    log "$label on $s"
    dir=$WORK/$s-aof-$mode
    if ! start "$s" "$dir" "${args[@]}"; then put "$label" "$s" "$(na "$ERR")"; continue; fi
    if [ "$mode" != no ] && [ "$(info "$PORT" persistence aof_enabled)" != 1 ]; then
      put "$label" "$s" "$(na "started, but INFO says aof_enabled:$(info "$PORT" persistence aof_enabled)")"
      stop "$PID"; continue
    fi
    csv=$WORK/aof-$s-$mode.csv
    if timeout "$TIMEOUT" redis-benchmark -p "$PORT" -t set -P 16 -n "$N" -c "$CLIENTS" --csv -q >"$csv" 2>/dev/null; then
      put "$label" "$s" "$(H csv "$csv" SET rps)"
    else
      put "$label" "$s" "$(na "redis-benchmark exited with an error or timed out" failed)"
    fi
    stop "$PID"
    rm -rf "$dir"
  done
done

echo "# ratio = redoubt / redis: below 1 is better for times, sizes and latencies, above 1 for keys/s and rps"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
H report "$RESULTS" 0
REPORTED=1
for note in "${NOTES[@]:-}"; do [ -n "$note" ] && echo "# note: $note"; done
exit 0
