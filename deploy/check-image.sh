#!/usr/bin/env bash
# Builds Redoubt's image and runs deploy/docker-compose.yml, without a Docker daemon or a
# registry, then checks the deployment: the primary has 2 online replicas, all 3 sentinels
# see it (quorum 2, 2 replicas, 2 other sentinels), and a SENTINEL FAILOVER promotes a
# replica that the other replica then follows.
#
#   deploy/check-image.sh            # from anywhere; run as root; takes ~2 minutes
#   deploy/check-image.sh --no-cargo # use target/release/redoubt as it is
#
# How: debootstrap makes a minimal Debian bookworm base (the Debian mirror stands in for
# Docker Hub) and `podman import`s it as localhost/debian-minbase; podman-compose (>= 1.1,
# for `network_mode: service:master`; from PyPI into a venv, Debian's 1.0.3 is too old)
# runs `up --build` on the unchanged compose file, passing `--build-arg BASE=...` to the
# build. Podman runs rootful with vfs storage, runc, cgroupfs and chroot build isolation,
# and every bit of its state lives in a scratch directory that is removed at the end, with
# the containers and network. The host ports are six free ones (the REDOUBT_*_PORT
# variables the compose file reads), so a running setup on 6379/5000 is not disturbed.
# Netavark (podman's networking) leaves its empty iptables chains and net.ipv4.ip_forward=1.
# Needs: podman, runc, debootstrap, redis-cli (redis-tools), python3-venv; missing ones are
# installed with apt-get. Not part of .ci/run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CARGO=1
for a in "$@"; do
    case "$a" in
        --no-cargo) CARGO=0 ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "unknown argument: $a" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "check-image: run as root (rootful podman)" >&2; exit 2; }

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PODMAN_COMPOSE_VERSION=1.6.0
PROJECT=redoubt-check
WORK=$(mktemp -d /tmp/redoubt-check-image.XXXXXX)
PASS=1111
log() { printf '\n== %s\n' "$*"; }

# --- tools ------------------------------------------------------------------------------
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v redis-cli >/dev/null || need+=(redis-tools)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get install -y -q "${need[@]}"
fi

# --- podman configured to keep everything in $WORK --------------------------------------
# The limits: this sandbox lacks CAP_SYS_RESOURCE, so podman's default (raise nofile to
# 1048576) fails with "setrlimit RLIMIT_NOFILE: Operation not permitted"; runc and cgroupfs:
# crun refuses the hybrid cgroup v1/v2 mount ("cgroups in hybrid mode not supported").
mkdir -p "$WORK/conf" "$WORK/tmp" "$WORK/networks"
cat >"$WORK/conf/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$WORK/tmp"
[network]
network_config_dir = "$WORK/networks"
EOF
cat >"$WORK/conf/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
EOF
export CONTAINERS_CONF=$WORK/conf/containers.conf
export CONTAINERS_STORAGE_CONF=$WORK/conf/storage.conf
export BUILDAH_ISOLATION=chroot

# Six free host ports.
read -r P1 P2 P3 S1 S2 S3 < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
EOF
)
export REDOUBT_PRIMARY_PORT=$P1 REDOUBT_REPLICA1_PORT=$P2 REDOUBT_REPLICA2_PORT=$P3
export REDOUBT_SENTINEL1_PORT=$S1 REDOUBT_SENTINEL2_PORT=$S2 REDOUBT_SENTINEL3_PORT=$S3

PC="$WORK/venv/bin/podman-compose"
compose() { "$PC" -p "$PROJECT" -f "$ROOT/deploy/docker-compose.yml" "$@"; }
cleanup() {
    set +e
    if [ -x "$PC" ]; then
        log "tearing down"
        compose down -t 2 >/dev/null 2>&1
        podman network rm -f "${PROJECT}_default" >/dev/null 2>&1
    fi
    podman rm -a -f -t 0 >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- binary, base, image ----------------------------------------------------------------
if [ "$CARGO" = 1 ]; then
    log "cargo build --release -p redoubt"
    (cd "$ROOT" && cargo build --release -p redoubt)
fi
[ -x "$ROOT/target/release/redoubt" ] || { echo "no target/release/redoubt" >&2; exit 1; }

log "podman-compose $PODMAN_COMPOSE_VERSION (PyPI, into $WORK/venv)"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "podman-compose==$PODMAN_COMPOSE_VERSION"

log "debootstrap --variant=minbase bookworm ($MIRROR)"
debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log"; exit 1; }
tar -C "$WORK/rootfs" -c . | podman import -q - localhost/debian-minbase >/dev/null
rm -rf "$WORK/rootfs"

log "podman-compose up --build (BASE=localhost/debian-minbase; host ports $P1 $P2 $P3 $S1 $S2 $S3)"
compose --podman-build-args "--pull=never --build-arg BASE=localhost/debian-minbase" \
    up -d --build
podman ps --format '{{.Names}}  {{.Status}}  {{.Command}}'

# --- checks -----------------------------------------------------------------------------
R() { local p=$1; shift; redis-cli -p "$p" -a "$PASS" --no-auth-warning "$@" | tr -d '\r'; }
S() { local p=$1; shift; redis-cli -p "$p" "$@" | tr -d '\r'; }
field() { awk -v k="$1" 'NR%2==1 && $0==k {getline; print; exit}'; }
wait_for() { # wait_for <seconds> <description> <command...>
    local t=$1 what=$2; shift 2
    for _ in $(seq 1 "$t"); do "$@" && return 0; sleep 1; done
    echo "FAIL: $what (after ${t}s)" >&2
    return 1
}
dump() { for c in $(podman ps -a --format '{{.Names}}'); do echo "-- $c"; podman logs --tail 15 "$c"; done; }
primary_has_2() { [ "$(R "$1" info replication | grep -c 'state=online')" = 2 ]; }
sentinels_ok() { # sentinels_ok <primary port inside the namespace>
    local s
    for s in $S1 $S2 $S3; do
        local m; m=$(S "$s" sentinel master myprimary) || return 1
        [ "$(echo "$m" | field port)" = "$1" ] && [ "$(echo "$m" | field flags)" = master ] \
            && [ "$(echo "$m" | field num-slaves)" = 2 ] \
            && [ "$(echo "$m" | field num-other-sentinels)" = 2 ] || return 1
    done
}

log "check: primary has 2 replicas, 3 sentinels agree"
wait_for 60 "primary with 2 online replicas" primary_has_2 "$P1" || { dump; exit 1; }
wait_for 60 "sentinels see primary 6379 with 2 replicas and 2 other sentinels" sentinels_ok 6379 \
    || { dump; exit 1; }
R "$P1" info replication | grep -E '^(role|connected_slaves|slave[0-9])'
for s in $S1 $S2 $S3; do echo "sentinel :$s -> $(S "$s" sentinel get-master-addr-by-name myprimary | paste -sd' ')"; done

log "check: SENTINEL FAILOVER"
S "$S1" sentinel failover myprimary
new_primary() {
    local a; a=$(S "$S1" sentinel get-master-addr-by-name myprimary | sed -n 2p)
    [ "$a" = 6380 ] || [ "$a" = 6381 ] && NEW=$a
}
wait_for 60 "a replica promoted" new_primary || { dump; exit 1; }
[ "$NEW" = 6380 ] && NEWP=$P2 || NEWP=$P3
wait_for 60 "new primary $NEW with 2 online replicas (the old primary and the other replica)" \
    primary_has_2 "$NEWP" || { dump; exit 1; }
wait_for 60 "sentinels see $NEW as primary" sentinels_ok "$NEW" || { dump; exit 1; }
R "$NEWP" info replication | grep -E '^(role|connected_slaves|slave[0-9])'

log "OK: image built from the workspace; the reference deployment runs in it and fails over"
