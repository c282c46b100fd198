#!/usr/bin/env bash
# Side-by-side load harness: direct, Herald, nginx and HAProxy in front of ONE shared
# upstream (nginx for HTTP, a Kestrel gRPC server for gRPC), measured in one run on this
# machine, then Herald alone: a sidecar pair, start to ready and memory. See bench/README.md.
#
#   bench/harness/run.sh [--quick] [--duration S] [--herald PATH]
#
# Prints a markdown table and the issue's targets (PASS / FALL SHORT) and writes both to
# bench/results/TIMESTAMP.md.
set -euo pipefail

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HARNESS_DIR/../.." && pwd)
HERALD_BOOTSTRAP="$HARNESS_DIR/herald-bench.yaml"

# 127.0.0.1 ports. Herald's listener ports are fixed in herald-bench.yaml: keep them in step.
UPSTREAM_H1_PORT=28080
UPSTREAM_H2C_PORT=28081
UPSTREAM_GRPC_PORT=28082
HERALD_H1_PORT=28100
HERALD_H2C_PORT=28101
HERALD_GRPC_PORT=28102
HERALD_ADMIN_PORT=28109
NGINX_H1_PORT=28200
NGINX_H2C_PORT=28201
NGINX_GRPC_PORT=28202
HAPROXY_H1_PORT=28300
HAPROXY_H2C_PORT=28301
HAPROXY_GRPC_PORT=28302
# Herald with the sidecar-shaped bootstrap (herald-sidecar.yaml): one alone for start to
# ready and memory, and a pair (client side -> server side -> upstream) for the mesh overhead.
SIDECAR_OUTBOUND_PORT=28110
SIDECAR_INBOUND_PORT=28111
SIDECAR_ADMIN_PORT=28119
PAIR_CLIENT_OUTBOUND_PORT=28120
PAIR_CLIENT_INBOUND_PORT=28121
PAIR_CLIENT_ADMIN_PORT=28129
PAIR_SERVER_OUTBOUND_PORT=28130
PAIR_SERVER_INBOUND_PORT=28131
PAIR_SERVER_ADMIN_PORT=28139

# Every proxy gets the same single core; the load generator and the upstream share the other.
LOAD_CPU=0
PROXY_CPU=1

DURATION=10
WARMUP=2
HERALD_BIN=""
HERALD_ENV=()                        # the image's environment, NAME=VALUE (see build_herald)
SHIPPED_PUBLISH_FLAGS=(-p:PublishTrimmed=true -p:PublishSingleFile=true -p:EnableTrimAnalyzer=false)
BENCH_BIN=""                         # Herald.Benchmarks.dll, which serves as the gRPC upstream
STARTS=5                             # start-to-ready trials (the median is reported)
IDLE_CONNECTIONS=10000
IDLE_SECONDS=45                      # how long the sidecar idles before its RSS is read (Herald pages out startup-only pages 30 s after ready)
PAIR_RATE=1000                       # the sidecar pair's fixed rate, as in Istio's published figures
PAIR_CONNECTIONS=10
FIXED_RATE=""                        # half of nginx's h1-c32 req/s, known once that row ran
RATE_CONNECTIONS=32
HEADLINE_RUNS=3                      # h1-c32 herald/nginx/haproxy runs for the headline ratio's median
RETRIES=${BENCH_RETRIES:-2}          # re-runs of a measurement disturbed by other work
FOREIGN_LIMIT=10                     # ... "disturbed": more than this % of a core
QUIET_WAIT=${BENCH_QUIET_WAIT:-60}   # seconds to wait, before a run, for other work to stop
RUN_ROW="" RUN_ERRORS=0 RUN_FOREIGN=0 HOW=""

TARGETS=(direct herald nginx haproxy herald-pair)
PROXIES=(direct herald nginx haproxy)
# h1-rate-half: fixed rate, half of nginx's h1-c32 req/s (open loop); h1-pair-1000rps: the
# sidecar pair at 1,000 requests/s. Both come after h1-c32, whose nginx row sets the rate.
CASES=(h1-c32 h1-c256 h2c-c32-m10 grpc-c32-m10 h1-rate-half h1-pair-1000rps)

declare -A H1_PORT=([direct]=$UPSTREAM_H1_PORT [herald]=$HERALD_H1_PORT
    [nginx]=$NGINX_H1_PORT [haproxy]=$HAPROXY_H1_PORT [herald-pair]=$PAIR_CLIENT_OUTBOUND_PORT)
declare -A H2C_PORT=([direct]=$UPSTREAM_H2C_PORT [herald]=$HERALD_H2C_PORT
    [nginx]=$NGINX_H2C_PORT [haproxy]=$HAPROXY_H2C_PORT)
declare -A GRPC_PORT=([direct]=$UPSTREAM_GRPC_PORT [herald]=$HERALD_GRPC_PORT
    [nginx]=$NGINX_GRPC_PORT [haproxy]=$HAPROXY_GRPC_PORT)
declare -A TARGET_PID=()     # root pid(s) of each proxy, space-separated (direct has none)
UPSTREAM_PID=""
GRPC_UPSTREAM_PID=""
declare -A UNAVAILABLE=()    # target -> reason it has no numbers

STARTED_PIDS=()              # every long-lived process this script started, stopped on exit
LOADER_PID=""                # the wrk/h2load running now, if any
WORK=""
RESULTS_TSV=""
HEADLINE_TSV=""              # h1-c32 runs for the headline: run TAB target TAB req/s TAB CPU us/req
METRICS_TSV=""               # single figures (start to ready, idle RSS, ...): key TAB value
NOTES_FILE=""
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    cat <<EOF
usage: bench/harness/run.sh [--quick] [--duration S] [--herald PATH]
  --quick        1 s warm-up and 3 s per measurement (default: $WARMUP s and $DURATION s)
  --duration S   seconds per measurement
  --herald PATH  use this herald executable instead of building the shipped one with dotnet publish
  --headline-runs N  runs of h1-c32 (herald, nginx, haproxy) whose median ratio is the headline (default $HEADLINE_RUNS)
EOF
}

parse_args() {
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --quick) DURATION=3; WARMUP=1 ;;
            --duration) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -gt 0 ]] || die "--duration needs whole seconds"
                DURATION=$2; shift ;;
            --herald) [[ $# -ge 2 ]] || die "--herald needs a path"
                HERALD_BIN=$2; shift ;;
            --headline-runs) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -gt 0 ]] || die "--headline-runs needs a whole number"
                HEADLINE_RUNS=$2; shift ;;
            -h|--help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument: $1" ;;
        esac
        shift
    done
}

# --- processes -------------------------------------------------------------------------

# A pid and all its descendants (nginx master and workers, for instance).
proc_tree() {
    local pid=$1 child
    [[ -d /proc/$pid ]] || return 0
    echo "$pid"
    for child in $(pgrep -P "$pid" || true); do
        proc_tree "$child"
    done
}

# Running, not a zombie waiting to be reaped.
alive() {
    [[ -d /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# The first of a target's root pids that is gone, or nothing (status 1) when all run.
target_gone() {
    local pid
    for pid in ${TARGET_PID[$1]}; do
        alive "$pid" || { echo "$pid"; return 0; }
    done
    return 1
}

stop_pid() {
    local pid=$1 tree i
    [[ -d /proc/$pid ]] || return 0
    tree=$(proc_tree "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 30); do
        alive "$pid" || break
        sleep 0.1
    done
    # Whatever survived the polite stop (including orphaned workers) is killed by pid.
    for i in $tree; do
        kill -KILL "$i" 2>/dev/null || true
    done
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$? i
    trap - EXIT INT TERM
    [[ -z "$LOADER_PID" ]] || stop_pid "$LOADER_PID"
    for (( i=${#STARTED_PIDS[@]}-1; i>=0; i-- )); do
        stop_pid "${STARTED_PIDS[$i]}"
    done
    if [[ -n "$WORK" && -d "$WORK" && -z "${BENCH_KEEP_WORK:-}" ]]; then
        rm -rf "$WORK"
    fi
    exit "$status"
}

# start_bg NAME CPU COMMAND...: runs COMMAND pinned to CPU, output in $WORK/NAME.log.
# The pid is left in BG_PID (taskset execs the command, so it is the command's pid).
start_bg() {
    local name=$1 cpu=$2
    shift 2
    taskset -c "$cpu" "$@" >"$WORK/$name.log" 2>&1 &
    BG_PID=$!
    STARTED_PIDS+=("$BG_PID")
}

# Runs a load generator in the background and waits, so the trap can stop it.
run_loader() {
    local out=$1
    shift
    taskset -c "$LOAD_CPU" "$@" >"$out" 2>&1 &
    LOADER_PID=$!
    local status=0
    wait "$LOADER_PID" || status=$?
    LOADER_PID=""
    return "$status"
}

# Drops a pid that has been reaped, so cleanup never signals a reused pid.
forget_pid() {
    local i
    for i in "${!STARTED_PIDS[@]}"; do
        [[ "${STARTED_PIDS[$i]}" != "$1" ]] || unset 'STARTED_PIDS[i]'
    done
    STARTED_PIDS=("${STARTED_PIDS[@]}")
}

# --- setup ----------------------------------------------------------------------------

ensure_tools() {
    local -A package_of=([nginx]=nginx-light [haproxy]=haproxy [wrk]=wrk
        [h2load]=nghttp2-client [curl]=curl [taskset]=util-linux [pgrep]=procps [python3]=python3)
    local missing=() cmd sudo=""
    export PATH="$PATH:/usr/sbin:/sbin"
    for cmd in nginx haproxy wrk h2load curl taskset pgrep python3; do
        if ! command -v "$cmd" >/dev/null 2>&1; then
            missing+=("${package_of[$cmd]}")
        fi
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        [[ $(id -u) -eq 0 ]] || sudo=sudo
        log "installing from Debian: ${missing[*]}"
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

check_cpus() {
    local cpus
    cpus=$(nproc --all)
    if [[ $cpus -lt 2 ]]; then
        log "warning: one CPU only; proxies and load generator share CPU 0"
        PROXY_CPU=0
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

check_ports_free() {
    local port
    for port in $UPSTREAM_H1_PORT $UPSTREAM_H2C_PORT $UPSTREAM_GRPC_PORT \
        $HERALD_H1_PORT $HERALD_H2C_PORT $HERALD_GRPC_PORT $HERALD_ADMIN_PORT \
        $NGINX_H1_PORT $NGINX_H2C_PORT $NGINX_GRPC_PORT $HAPROXY_H1_PORT $HAPROXY_H2C_PORT $HAPROXY_GRPC_PORT \
        $SIDECAR_OUTBOUND_PORT $SIDECAR_INBOUND_PORT $SIDECAR_ADMIN_PORT \
        $PAIR_CLIENT_OUTBOUND_PORT $PAIR_CLIENT_INBOUND_PORT $PAIR_CLIENT_ADMIN_PORT \
        $PAIR_SERVER_OUTBOUND_PORT $PAIR_SERVER_INBOUND_PORT $PAIR_SERVER_ADMIN_PORT; do
        port_in_use "$port" && die "127.0.0.1:$port is already in use (another harness run?)"
    done
    return 0
}

# wait_port PID PORT: waits up to 10 s for PORT to accept connections while PID lives.
wait_port() {
    local pid=$1 port=$2 i
    for i in $(seq 1 200); do
        port_in_use "$port" && return 0
        alive "$pid" || return 1
        sleep 0.05
    done
    return 1
}

# --- the upstream -----------------------------------------------------------------------

# Shared by nginx's two roles: no access log, private pid/temp paths, long keep-alive so
# no connection is closed for having served "too many" requests during a run.
nginx_common_http() {
    local dir=$1
    cat <<EOF
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    default_type text/plain;
EOF
}

nginx_prologue() {
    local dir=$1
    cat <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
EOF
}

write_upstream_conf() {
    local dir=$WORK/upstream
    mkdir -p "$dir/tmp"
    {
        nginx_prologue "$dir"
        echo "http {"
        nginx_common_http "$dir"
        cat <<EOF
    server {
        listen 127.0.0.1:$UPSTREAM_H1_PORT backlog=4096;
        listen 127.0.0.1:$UPSTREAM_H2C_PORT http2 backlog=4096;
        location / { return 200 "hello\n"; }
    }
}
EOF
    } >"$dir/nginx.conf"
}

start_upstream() {
    write_upstream_conf
    nginx -t -q -p "$WORK/upstream" -e "$WORK/upstream/error.log" -c "$WORK/upstream/nginx.conf" \
        || die "upstream nginx config rejected"
    start_bg upstream "$LOAD_CPU" nginx -p "$WORK/upstream" -e "$WORK/upstream/error.log" \
        -c "$WORK/upstream/nginx.conf"
    wait_port "$BG_PID" "$UPSTREAM_H1_PORT" && wait_port "$BG_PID" "$UPSTREAM_H2C_PORT" \
        || die "upstream nginx did not start: $(cat "$WORK/upstream.log" "$WORK/upstream/error.log" 2>/dev/null)"
    UPSTREAM_PID=$BG_PID
    log "upstream nginx pid $BG_PID on CPU $LOAD_CPU, :$UPSTREAM_H1_PORT (HTTP/1.1) :$UPSTREAM_H2C_PORT (h2c)"
}

# The gRPC upstream: Herald.Benchmarks --grpc-upstream (Kestrel, h2c), on the loader core
# like the HTTP upstream. Without it the grpc rows read n/a and the run carries on.
start_grpc_upstream() {
    local dll=$REPO_ROOT/bench/Herald.Benchmarks/bin/Release/net10.0/Herald.Benchmarks.dll
    log "building the gRPC upstream: dotnet build bench/Herald.Benchmarks -c Release"
    if ! (cd "$REPO_ROOT" && dotnet build bench/Herald.Benchmarks -c Release) >"$WORK/grpc-upstream-build.log" 2>&1; then
        UNAVAILABLE[grpc-upstream]="build failed"
        note "gRPC upstream build failed: $(grep -m 3 -E 'error' "$WORK/grpc-upstream-build.log" | tr '\n' ' ')"
        return 0
    fi
    start_bg grpc-upstream "$LOAD_CPU" dotnet "$dll" --grpc-upstream "$UPSTREAM_GRPC_PORT"
    if ! wait_port "$BG_PID" "$UPSTREAM_GRPC_PORT"; then
        UNAVAILABLE[grpc-upstream]="did not listen"
        note "gRPC upstream did not start: $(tail -n 5 "$WORK/grpc-upstream.log" | tr '\n' ' ')"
        return 0
    fi
    GRPC_UPSTREAM_PID=$BG_PID
    log "gRPC upstream pid $BG_PID on CPU $LOAD_CPU, :$UPSTREAM_GRPC_PORT (h2c)"
}

# A gRPC request: 5-byte prefix (uncompressed, length 7), then field 1 = "hello".
write_grpc_body() {
    printf '\x00\x00\x00\x00\x07\x0a\x05hello' >"$WORK/grpc-request.bin"
}

# --- the proxies ------------------------------------------------------------------------

# proxy_started NAME PID PORT...: records the proxy, or why it has no numbers.
proxy_started() {
    local name=$1 pid=$2 port
    shift 2
    for port in "$@"; do
        if ! wait_port "${pid%% *}" "$port"; then
            UNAVAILABLE[$name]="did not listen on :$port (see log below)"
            note "$name failed to start: $(tail -n 5 "$WORK/$name.log" 2>/dev/null | tr '\n' ' ')"
            return 0
        fi
    done
    TARGET_PID[$name]=$pid
    log "$name pid $pid on CPU $PROXY_CPU"
}

start_nginx_proxy() {
    local dir=$WORK/nginx
    mkdir -p "$dir/tmp"
    {
        nginx_prologue "$dir"
        echo "http {"
        nginx_common_http "$dir"
        cat <<EOF
    upstream backend {
        server 127.0.0.1:$UPSTREAM_H1_PORT;
        keepalive 1024;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }
    upstream grpc_backend {
        server 127.0.0.1:$UPSTREAM_GRPC_PORT;
        keepalive 1024;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }
    server {
        listen 127.0.0.1:$NGINX_H1_PORT backlog=4096;
        listen 127.0.0.1:$NGINX_H2C_PORT http2 backlog=4096;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    server {
        listen 127.0.0.1:$NGINX_GRPC_PORT http2 backlog=4096;
        http2_max_requests 100000000;
        location / { grpc_pass grpc://grpc_backend; }
    }
}
EOF
    } >"$dir/nginx.conf"
    if ! nginx -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$WORK/nginx.log" 2>&1; then
        UNAVAILABLE[nginx]="config rejected"
        note "nginx config rejected: $(tr '\n' ' ' <"$WORK/nginx.log")"
        return 0
    fi
    start_bg nginx "$PROXY_CPU" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
    proxy_started nginx "$BG_PID" "$NGINX_H1_PORT" "$NGINX_H2C_PORT" "$NGINX_GRPC_PORT"
}

start_haproxy() {
    local conf=$WORK/haproxy.cfg
    cat >"$conf" <<EOF
global
    nbthread 1
    maxconn 4000

defaults
    mode http
    maxconn 4000
    http-reuse always
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s

frontend http1
    bind 127.0.0.1:$HAPROXY_H1_PORT
    default_backend upstream_http1

frontend h2c
    bind 127.0.0.1:$HAPROXY_H2C_PORT proto h2
    default_backend upstream_h2c

frontend grpc
    bind 127.0.0.1:$HAPROXY_GRPC_PORT proto h2
    default_backend upstream_grpc

backend upstream_http1
    server upstream 127.0.0.1:$UPSTREAM_H1_PORT

backend upstream_h2c
    server upstream 127.0.0.1:$UPSTREAM_H2C_PORT proto h2

backend upstream_grpc
    server upstream 127.0.0.1:$UPSTREAM_GRPC_PORT proto h2
EOF
    if ! haproxy -c -q -f "$conf" >"$WORK/haproxy.log" 2>&1; then
        UNAVAILABLE[haproxy]="config rejected"
        note "haproxy config rejected: $(tr '\n' ' ' <"$WORK/haproxy.log")"
        return 0
    fi
    # -db: foreground, one process (no master-worker), so the pid is the whole proxy.
    start_bg haproxy "$PROXY_CPU" haproxy -db -f "$conf"
    proxy_started haproxy "$BG_PID" "$HAPROXY_H1_PORT" "$HAPROXY_H2C_PORT" "$HAPROXY_GRPC_PORT"
}

build_herald() {
    # Herald runs with the image's environment: the ENV lines of docker/Dockerfile's final
    # stage (runtime switches that cannot live in the runtimeconfig).
    mapfile -t HERALD_ENV < <(awk '$1 == "FROM" { final = ($NF == "final") } final && $1 == "ENV" { for (i = 2; i <= NF; i++) print $i }' "$REPO_ROOT/docker/Dockerfile")
    if [[ -n "$HERALD_BIN" ]]; then
        [[ -x "$HERALD_BIN" ]] || { UNAVAILABLE[herald]="--herald $HERALD_BIN is not executable"; return 0; }
        HERALD_BIN=$(cd "$(dirname "$HERALD_BIN")" && pwd)/$(basename "$HERALD_BIN")
        return 0
    fi
    # The executable the container image ships (docker/Dockerfile): trimmed, single file,
    # ReadyToRun. Trimming is what sidecar memory is judged on (13 MB less resident than a
    # plain publish); the code on the request path is the same.
    log "building Herald as the image ships it: dotnet publish proxy -c Release ${SHIPPED_PUBLISH_FLAGS[*]} -o .out/shipped"
    if ! (cd "$REPO_ROOT" && dotnet publish proxy -c Release "${SHIPPED_PUBLISH_FLAGS[@]}" -o .out/shipped) >"$WORK/herald-build.log" 2>&1; then
        UNAVAILABLE[herald]="build failed"
        note "herald build failed: $(grep -m 3 -E 'error' "$WORK/herald-build.log" | tr '\n' ' ')"
        return 0
    fi
    HERALD_BIN=$REPO_ROOT/.out/shipped/herald
}

# wait_ready NAME PID ADMIN_PORT: waits up to 10 s for Herald's /ready to return 200.
# On failure the target NAME is marked unavailable with the reason.
wait_ready() {
    local name=$1 pid=$2 admin=$3 i code=""
    for i in $(seq 1 1000); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
            "http://127.0.0.1:$admin/ready" 2>/dev/null || true)
        [[ "$code" == 200 ]] && return 0
        if ! alive "$pid"; then
            how_ended "$pid"
            UNAVAILABLE[$name]="$HOW before /ready"
            note "$name $HOW before /ready: $(tail -n 5 "$WORK/$name.log" | tr '\n' ' ')"
            return 1
        fi
        sleep 0.01
    done
    UNAVAILABLE[$name]="/ready not 200 after 10 s"
    note "$name: /ready was not 200 after 10 s"
    return 1
}

start_herald() {
    local pid start_ns
    [[ -z "${UNAVAILABLE[herald]:-}" ]] || return 0
    start_ns=$(date +%s%N)
    start_bg herald "$PROXY_CPU" env "${HERALD_ENV[@]}" "$HERALD_BIN" proxy \
        --bootstrap "$HERALD_BOOTSTRAP" --admin "127.0.0.1:$HERALD_ADMIN_PORT"
    pid=$BG_PID
    wait_ready herald "$pid" "$HERALD_ADMIN_PORT" || return 0
    note "herald (bench bootstrap) start to /ready as the harness saw it: $(( ($(date +%s%N) - start_ns) / 1000000 )) ms (curl polling every 10 ms; the start-to-ready target is measured on its own, see below)"
    proxy_started herald "$pid" "$HERALD_H1_PORT" "$HERALD_H2C_PORT" "$HERALD_GRPC_PORT"
}

# Herald gives back the file pages only startup used 30 s after ready (docs/deploy.md). The
# load cases measure Heralds past that point, as sidecars that have been up a while, so the
# page-out (a one-off of ~10 ms of page faults) falls in no measured run.
wait_for_startup_pages() {
    local name deadline=$(( $(date +%s) + 75 ))
    for name in "$@"; do
        [[ -f "$WORK/$name.log" ]] || continue
        while ! grep -q "returning .* file pages" "$WORK/$name.log"; do
            if (( $(date +%s) >= deadline )); then
                note "$name: no page-out logged within 75 s of the start"
                break
            fi
            sleep 1
        done
    done
}

# admin_gauge ADMIN_PORT GAUGE: one gauge from a Herald's /stats, or empty if it does not answer.
admin_gauge() {
    curl -s -m 2 "http://127.0.0.1:$1/stats?filter=%5E${2//./%5C.}%24" 2>/dev/null \
        | awk -F': ' -v g="$2" '$1 == g { print $2 }'
}

# jit_total "ADMIN_PORT..." GAUGE: the gauge summed over Heralds.
jit_total() {
    local total=0 port
    for port in $1; do
        total=$(( total + $(admin_gauge "$port" "runtime.$2") + 0 ))
    done
    echo "$total"
}

# settle_jit NAME "ADMIN_PORT..." CASE URL: load until the JIT's tier-up is over. A
# JIT-compiled proxy re-compiles its hot methods optimized (tier 1) after ~30 calls each,
# on the core it serves from; on one core that took ~10 s of load and ~1,000 methods, which
# would land in the first measured rows (and dominate a 1,000 req/s row). nginx and HAProxy
# have nothing to settle. Rounds of 2 s at full speed until a round compiles fewer than 10
# methods (at most 8 rounds); what it cost is noted. Done per protocol just before its first
# row, so a row's peak RSS still reflects only the protocols measured up to then.
settle_jit() {
    local name=$1 ports=$2 case=$3 url=$4 round=0 before after start_count start_ms unsettled=
    start_count=$(jit_total "$ports" jit_compiled_methods)
    start_ms=$(jit_total "$ports" jit_time_ms)
    after=$start_count
    while (( round < 8 )); do
        before=$after
        load "$case" "$url" 2 "$WORK/settle.$name.out" || true
        rm -f "$WORK/settle.$name.out.requests"
        round=$(( round + 1 ))
        after=$(jit_total "$ports" jit_compiled_methods)
        (( after - before >= 10 )) || break
    done
    (( after - before < 10 )) || unsettled=" (still compiling when the rounds ran out)"
    note "$name, $case: JIT tier-up settled before measuring: $round round(s) of 2 s, $(( after - start_count )) methods compiled in $(( $(jit_total "$ports" jit_time_ms) - start_ms )) ms of JIT time$unsettled"
}

# sidecar_bootstrap FILE OUTBOUND INBOUND PEER APP: herald-sidecar.yaml with its ports.
sidecar_bootstrap() {
    sed -e "s/@OUTBOUND_PORT@/$2/" -e "s/@INBOUND_PORT@/$3/" -e "s/@PEER_PORT@/$4/" -e "s/@APP_PORT@/$5/" \
        "$HARNESS_DIR/herald-sidecar.yaml" >"$1"
}

# The sidecar pair: the client side's outbound listener forwards to the server side's
# inbound listener, which forwards to the upstream. Chained by plain listeners on
# 127.0.0.1, not by iptables interception; both on the proxy core.
start_herald_pair() {
    local client server
    [[ -z "${UNAVAILABLE[herald]:-}" ]] || { UNAVAILABLE[herald-pair]="herald unavailable"; return 0; }
    sidecar_bootstrap "$WORK/pair-server.yaml" "$PAIR_SERVER_OUTBOUND_PORT" "$PAIR_SERVER_INBOUND_PORT" \
        "$UPSTREAM_H1_PORT" "$UPSTREAM_H1_PORT"
    sidecar_bootstrap "$WORK/pair-client.yaml" "$PAIR_CLIENT_OUTBOUND_PORT" "$PAIR_CLIENT_INBOUND_PORT" \
        "$PAIR_SERVER_INBOUND_PORT" "$UPSTREAM_H1_PORT"
    start_bg herald-pair-server "$PROXY_CPU" env "${HERALD_ENV[@]}" "$HERALD_BIN" proxy \
        --bootstrap "$WORK/pair-server.yaml" --admin "127.0.0.1:$PAIR_SERVER_ADMIN_PORT"
    server=$BG_PID
    start_bg herald-pair-client "$PROXY_CPU" env "${HERALD_ENV[@]}" "$HERALD_BIN" proxy \
        --bootstrap "$WORK/pair-client.yaml" --admin "127.0.0.1:$PAIR_CLIENT_ADMIN_PORT"
    client=$BG_PID
    wait_ready herald-pair "$server" "$PAIR_SERVER_ADMIN_PORT" || return 0
    wait_ready herald-pair "$client" "$PAIR_CLIENT_ADMIN_PORT" || return 0
    proxy_started herald-pair "$client $server" "$PAIR_CLIENT_OUTBOUND_PORT"
}

# Start to ready with the sidecar-shaped static bootstrap: exec to the first 200 from
# /ready, polled every 2 ms by probe.py; STARTS trials on the proxy core, median kept.
measure_start_to_ready() {
    local i out ms cpu times=() cpus=()
    [[ -z "${UNAVAILABLE[herald]:-}" ]] || return 0
    sidecar_bootstrap "$WORK/sidecar.yaml" "$SIDECAR_OUTBOUND_PORT" "$SIDECAR_INBOUND_PORT" \
        "$UPSTREAM_H1_PORT" "$UPSTREAM_H1_PORT"
    log "start to ready: $STARTS starts of the sidecar-shaped bootstrap"
    for (( i = 0; i < STARTS; i++ )); do
        wait_for_quiet
        if ! out=$(python3 "$HARNESS_DIR/probe.py" start-to-ready "$SIDECAR_ADMIN_PORT" "$PROXY_CPU" -- \
            env "${HERALD_ENV[@]}" "$HERALD_BIN" proxy --bootstrap "$WORK/sidecar.yaml" --admin "127.0.0.1:$SIDECAR_ADMIN_PORT" 2>>"$WORK/probe.log"); then
            note "start to ready: a start failed: $(tail -n 1 "$WORK/probe.log")"
            return 0
        fi
        read -r ms cpu <<<"$out"
        times+=("$ms")
        cpus+=("$cpu")
    done
    metric start_to_ready_ms "$(median "${times[@]}")"
    # CPU time to ready hardly depends on other work on the machine, wall time does.
    note "start to ready: wall ms of each start ${times[*]}; CPU ms used by then ${cpus[*]} (median $(median "${cpus[@]}"))"
}

# Memory of one sidecar-shaped Herald: RSS once ready and idle, then the RSS added by
# IDLE_CONNECTIONS keep-alive connections that each served one request.
measure_idle_memory() {
    local pid rss out before after count
    [[ -z "${UNAVAILABLE[herald]:-}" ]] || return 0
    start_bg herald-sidecar "$PROXY_CPU" env "${HERALD_ENV[@]}" "$HERALD_BIN" proxy \
        --bootstrap "$WORK/sidecar.yaml" --admin "127.0.0.1:$SIDECAR_ADMIN_PORT"
    pid=$BG_PID
    wait_ready herald-sidecar "$pid" "$SIDECAR_ADMIN_PORT" || return 0
    # One request through each listener path, as a sidecar that has served traffic.
    curl -s -o /dev/null --max-time 3 "http://127.0.0.1:$SIDECAR_INBOUND_PORT/" || true
    curl -s -o /dev/null --max-time 3 "http://127.0.0.1:$SIDECAR_OUTBOUND_PORT/" || true
    sleep 2
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
    log "idle RSS: $((rss / 1024)) MB 2 s after the requests; reading it again after ${IDLE_SECONDS} s idle"
    sleep $(( IDLE_SECONDS - 2 ))
    local early=$rss
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
    metric idle_rss_mb "$(awk -v kb="$rss" 'BEGIN { printf "%.1f", kb / 1024 }')"
    note "idle RSS: $(awk -v kb="$early" 'BEGIN { printf "%.1f", kb / 1024 }') MB 2 s after one request per listener, $(awk -v kb="$rss" 'BEGIN { printf "%.1f", kb / 1024 }') MB after ${IDLE_SECONDS} s (the figure)"
    log "idle connections: $IDLE_CONNECTIONS keep-alive connections to the sidecar's inbound listener"
    if out=$(python3 "$HARNESS_DIR/probe.py" idle-connections "$SIDECAR_INBOUND_PORT" "$IDLE_CONNECTIONS" "$pid" 2>>"$WORK/probe.log"); then
        read -r before after count <<<"$out"
        metric idle_connection_kb "$(awk -v b="$before" -v a="$after" -v n="$count" 'BEGIN { printf "%.1f", (a - b) / n }')"
        note "idle connections: RSS $((before / 1024)) MB before, $((after / 1024)) MB with $count open"
    else
        note "idle connections: the probe failed: $(tail -n 2 "$WORK/probe.log" | tr '\n' ' ')"
    fi
    alive "$pid" || { how_ended "$pid"; note "the sidecar-shaped herald $HOW during the idle-connection probe"; return 0; }
    stop_pid "$pid"
    forget_pid "$pid"
}

# --- measurement ------------------------------------------------------------------------

note() { echo "- $*" >>"$NOTES_FILE"; }

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

metric() { printf '%s\t%s\n' "$1" "$2" >>"$METRICS_TSV"; }

# Sum of utime+stime, in clock ticks, over the given pids (fields 14 and 15 of stat,
# counted after the ")" that closes the command name, which may hold spaces).
cpu_ticks() {
    local pid total=0 t
    for pid in "$@"; do
        t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$(( total + t ))
    done
    echo "$total"
}

# CPU ticks spent by this run: every process it started (and their children) plus the
# load generators it has reaped (this shell's cutime+cstime, fields 16 and 17).
own_ticks() {
    local pid all=() self
    for pid in "${STARTED_PIDS[@]}"; do
        mapfile -t -O "${#all[@]}" all < <(proc_tree "$pid")
    done
    self=$(awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat")
    echo $(( $(cpu_ticks "${all[@]}") + self ))
}

# Busy ticks of the whole machine (user, nice, system, irq, softirq, steal).
machine_ticks() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# Peak RSS (VmHWM) is reset to the current RSS before each case, so each row holds the
# peak under that case's load.
reset_peak_rss() {
    local pid
    for pid in "$@"; do
        echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
    done
}

peak_rss_kb() {
    local pid total=0 kb
    for pid in "$@"; do
        kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
        total=$(( total + ${kb:-0} ))
    done
    echo "$total"
}

uses_h2load() { [[ $1 != h1-c* ]]; }

# smoke CASE URL: one request through the target, before spending time on it. gRPC must
# come back with grpc-status 0 in the trailers.
smoke() {
    local case=$1 url=$2 body
    case "$case" in
        h2c*) body=$(curl -s --max-time 3 --http2-prior-knowledge "$url" || true) ;;
        grpc*)
            body=$(curl -s --max-time 3 --http2-prior-knowledge -o /dev/null -D - -X POST \
                -H 'content-type: application/grpc' -H 'te: trailers' \
                --data-binary "@$WORK/grpc-request.bin" "$url" 2>/dev/null | tr -d '\r' || true)
            grep -qx 'grpc-status: 0' <<<"$body" && return 0
            return 1 ;;
        *) body=$(curl -s --max-time 3 "$url" || true) ;;
    esac
    [[ "$body" == hello ]]
}

# load CASE URL SECONDS OUT: runs the case's load generator.
load() {
    local case=$1 url=$2 seconds=$3 out=$4
    case "$case" in
        h1-c32) run_loader "$out" wrk -t1 -c32 -d"${seconds}s" --latency "$url" ;;
        h1-c256) run_loader "$out" wrk -t1 -c256 -d"${seconds}s" --latency "$url" ;;
        h2c-c32-m10) run_loader "$out" h2load -t1 -c32 -m10 -D "$seconds" --log-file="$out.requests" "$url" ;;
        grpc-c32-m10) run_loader "$out" h2load -t1 -c32 -m10 -D "$seconds" --log-file="$out.requests" \
            -d "$WORK/grpc-request.bin" -H 'content-type: application/grpc' -H 'te: trailers' "$url" ;;
        # Open loop: each connection sends at its own fixed rate, whatever the responses do.
        h1-rate-half) run_loader "$out" h2load --h1 -t1 -c"$RATE_CONNECTIONS" \
            --rps="$(awk -v r="$FIXED_RATE" -v c="$RATE_CONNECTIONS" 'BEGIN { printf "%.3f", r / c }')" \
            -D "$seconds" --log-file="$out.requests" "$url" ;;
        h1-pair-1000rps) run_loader "$out" h2load --h1 -t1 -c"$PAIR_CONNECTIONS" \
            --rps="$(awk -v r="$PAIR_RATE" -v c="$PAIR_CONNECTIONS" 'BEGIN { printf "%.3f", r / c }')" \
            -D "$seconds" --log-file="$out.requests" "$url" ;;
        *) die "unknown case $case" ;;
    esac
}

# Prints "req/s requests p50_ms p99_ms errors" from wrk's output.
parse_wrk() {
    awk '
        function ms(v) {
            if (v ~ /us$/) { return v / 1000 }
            if (v ~ /ms$/) { return v + 0 }
            if (v ~ /m$/) { return v * 60000 }
            if (v ~ /s$/) { return v * 1000 }
            return v + 0
        }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        / requests in / { requests = $1 }
        /Socket errors:/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { errors += $NF }
        /^Requests\/sec:/ { rps = $2 }
        END { printf "%s %s %s %s %d\n", rps, requests, p50, p99, errors }
    ' "$1"
}

# Same from h2load's output; latency percentiles from its per-request log (column 3, us).
parse_h2load() {
    local out=$1 sorted n stats
    stats=$(awk '
        /^finished in/ { rps = $4 }
        /^requests:/ { done = $6; failed = $10 }
        /^status codes:/ { bad = $7 + $9 }    # "status codes: N 2xx, N 3xx, N 4xx, N 5xx"
        END { printf "%s %s %d", rps, done, (failed > bad ? failed : bad) }
    ' "$out")
    sorted=$out.sorted
    cut -f3 "$out.requests" | sort -n >"$sorted"
    n=$(wc -l <"$sorted")
    awk -v n="$n" -v stats="$stats" '
        BEGIN { i50 = int(n * 0.50 + 0.999); i99 = int(n * 0.99 + 0.999) }
        NR == i50 { p50 = $1 / 1000 }
        NR == i99 { p99 = $1 / 1000 }
        END { split(stats, s, " "); printf "%s %s %s %s %s\n", s[1], s[2], p50, p99, s[3] }
    ' "$sorted"
    rm -f "$sorted" "$out.requests"
}

# row CASE TARGET RPS P50 P99 CPU_US RSS_MB ERRORS BUSY_PERCENT
row() {
    local IFS=$'\t'
    echo "$*" >>"$RESULTS_TSV"
}

no_numbers() { row "$1" "$2" n/a n/a n/a n/a n/a 0 n/a; }

# herald_allocated: bytes the Herald under test has allocated so far (its admin's
# runtime.allocated_bytes gauge), or empty if the admin does not answer.
herald_allocated() {
    admin_gauge "$HERALD_ADMIN_PORT" runtime.allocated_bytes
}

# percent_of_core TICKS NANOSECONDS: CPU ticks as a share of one core over that wall time.
percent_of_core() {
    awk -v t="$1" -v hz="$CLK_TCK" -v ns="$2" 'BEGIN { printf "%.0f", t / hz * 1e11 / ns }'
}

# run_once CASE TARGET URL OUT: one measured run. Sets RUN_ROW (the row's fields after
# case and target, tab-separated), RUN_ERRORS and RUN_FOREIGN (CPU, in % of a core, used
# during the run by anything this script did not start); returns 1 if the loader failed
# or the proxy died.
run_once() {
    local case=$1 target=$2 url=$3 out=$4 pids=() parsed root
    local before=0 after=0 own_before own_after machine_before machine_after start_ns ns
    local rps requests p50 p99 errors cpu_us=- rss_mb=- busy=- allocated_before=""
    [[ $target != herald ]] || allocated_before=$(herald_allocated)
    if [[ -n "${TARGET_PID[$target]:-}" ]]; then
        for root in ${TARGET_PID[$target]}; do
            mapfile -t -O "${#pids[@]}" pids < <(proc_tree "$root")
        done
        reset_peak_rss "${pids[@]}"
        before=$(cpu_ticks "${pids[@]}")
    fi
    own_before=$(own_ticks)
    machine_before=$(machine_ticks)
    start_ns=$(date +%s%N)
    if ! load "$case" "$url" "$DURATION" "$out"; then
        note "$target, $case: load generator failed: $(tail -n 3 "$out" | tr '\n' ' ')"
        return 1
    fi
    ns=$(( $(date +%s%N) - start_ns ))
    # A proxy that died under load has no numbers worth printing; check_processes says why.
    if [[ -n "${TARGET_PID[$target]:-}" ]] && target_gone "$target" >/dev/null; then
        return 1
    fi
    machine_after=$(machine_ticks)
    own_after=$(own_ticks)
    RUN_FOREIGN=$(percent_of_core $(( (machine_after - machine_before) - (own_after - own_before) )) "$ns")

    if uses_h2load "$case"; then parsed=$(parse_h2load "$out"); else parsed=$(parse_wrk "$out"); fi
    read -r rps requests p50 p99 errors <<<"$parsed"
    if [[ ${#pids[@]} -gt 0 ]]; then
        after=$(cpu_ticks "${pids[@]}")
        cpu_us=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="${requests:-0}" \
            'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n; else print "n/a" }')
        rss_mb=$(awk -v kb="$(peak_rss_kb "${pids[@]}")" 'BEGIN { printf "%.1f", kb / 1024 }')
        # The share of its one core the proxy used: well below 100% means something
        # else (the loader core, most often) was the bottleneck.
        busy=$(percent_of_core $((after - before)) "$ns")
    fi
    if [[ -n "$allocated_before" && "${requests:-0}" -gt 0 ]]; then
        local allocated_after
        allocated_after=$(herald_allocated)
        [[ -z "$allocated_after" ]] || note "herald, $case: $(( (allocated_after - allocated_before) / requests )) bytes allocated per request (runtime.allocated_bytes over the run, warm-up excluded)"
    fi
    RUN_ERRORS=${errors:-0}
    RUN_ROW=$(printf '%s\t' "${rps:-n/a}" "${p50:-n/a}" "${p99:-n/a}" "$cpu_us" "$rss_mb" "$RUN_ERRORS")$busy
}

# foreign_percent SECONDS: CPU, in % of one core, that anything this script did not start
# uses while we sleep (our proxies are idle then).
foreign_percent() {
    local own machine start_ns
    own=$(own_ticks)
    machine=$(machine_ticks)
    start_ns=$(date +%s%N)
    sleep "$1"
    percent_of_core $(( $(machine_ticks) - machine - ($(own_ticks) - own) )) $(( $(date +%s%N) - start_ns ))
}

# Before a measured run, waits up to QUIET_WAIT seconds for the machine to be quiet.
wait_for_quiet() {
    local waited=0 percent
    while percent=$(foreign_percent 1); [[ $percent -gt $FOREIGN_LIMIT ]]; do
        if [[ $waited -ge $QUIET_WAIT ]]; then
            log "other work still uses ${percent}% of a core after ${QUIET_WAIT}s; measuring anyway"
            return 0
        fi
        [[ $waited -gt 0 ]] || log "other work uses ${percent}% of a core; waiting up to ${QUIET_WAIT}s for quiet"
        waited=$((waited + 1))
    done
}

# settle_if_first CASE TARGET URL: settles a Herald's JIT on the first row of each protocol
# (HTTP/1.1, h2c, gRPC); the pair's fixed-rate row is settled at full speed first.
declare -A SETTLED=()
settle_if_first() {
    local case=$1 target=$2 url=$3 protocol ports load_case=$1
    case "$target" in
        herald) ports=$HERALD_ADMIN_PORT ;;
        herald-pair) ports="$PAIR_CLIENT_ADMIN_PORT $PAIR_SERVER_ADMIN_PORT" ;;
        *) return 0 ;;
    esac
    # HTTP/1.1 settles at full speed (h1-c32) whichever row comes first, fixed-rate ones too.
    case "$case" in
        h2c*) protocol=h2c ;;
        grpc*) protocol=grpc ;;
        *) protocol=h1; load_case=h1-c32 ;;
    esac
    [[ -z "${SETTLED[$target.$protocol]:-}" ]] || return 0
    SETTLED[$target.$protocol]=1
    log "$case / $target: settling the JIT first"
    settle_jit "$target" "$ports" "$load_case" "$url"
}

# measure CASE TARGET: smoke request, warm-up, then the measured run. A run during which
# other work on the machine (another build, say) used more than FOREIGN_LIMIT % of a core
# is repeated, up to RETRIES times; the last one is kept and flagged if still noisy.
measure() {
    local case=$1 target=$2 port url out attempt
    if [[ -n "${UNAVAILABLE[$target]:-}" ]]; then
        no_numbers "$case" "$target"
        return 0
    fi
    if [[ $case == grpc* && -n "${UNAVAILABLE[grpc-upstream]:-}" ]]; then
        note "$target, $case: no gRPC upstream (${UNAVAILABLE[grpc-upstream]})"
        no_numbers "$case" "$target"
        return 0
    fi
    if [[ $case == h1-rate-half && -z "$FIXED_RATE" ]]; then
        note "$target, $case: no rate (nginx's h1-c32 row has no req/s)"
        no_numbers "$case" "$target"
        return 0
    fi
    case "$case" in
        h2c*) port=${H2C_PORT[$target]} ;;
        grpc*) port=${GRPC_PORT[$target]} ;;
        *) port=${H1_PORT[$target]} ;;
    esac
    url="http://127.0.0.1:$port/"
    if ! smoke "$case" "$url"; then
        note "$target, $case: a single request to $url did not return \"hello\"; no numbers"
        no_numbers "$case" "$target"
        return 0
    fi
    out=$WORK/$case.$target.out
    settle_if_first "$case" "$target" "$url"
    log "$case / $target: warm-up ${WARMUP}s, measure ${DURATION}s"
    load "$case" "$url" "$WARMUP" "$out.warmup" || true
    rm -f "$out.warmup.requests"
    for (( attempt = 0; attempt <= RETRIES; attempt++ )); do
        wait_for_quiet
        if ! run_once "$case" "$target" "$url" "$out"; then
            no_numbers "$case" "$target"
            check_processes "during $case / $target"
            return 0
        fi
        [[ $RUN_FOREIGN -gt $FOREIGN_LIMIT ]] || break
        log "$case / $target: other work used ${RUN_FOREIGN}% of a core during the run"
    done
    if [[ $RUN_FOREIGN -gt $FOREIGN_LIMIT ]]; then
        note "$target, $case: other processes or uncharged kernel work used ${RUN_FOREIGN}% of a core during the run; treat this row as noisy"
    fi
    if [[ $RUN_ERRORS -gt 0 ]]; then
        note "$target, $case: $RUN_ERRORS failed or non-2xx responses (counted in req/s)"
    fi
    printf '%s\t%s\t%s\n' "$case" "$target" "$RUN_ROW" >>"$RESULTS_TSV"
    check_processes "during $case / $target"
}

# how_ended PID: reaps a process of ours that is gone and says in HOW how it ended
# (no $(...): only this shell can reap its children).
how_ended() {
    local status=0
    wait "$1" 2>/dev/null || status=$?
    forget_pid "$1"
    if [[ $status -gt 128 ]]; then
        HOW="was killed by SIG$(kill -l $((status - 128)))"
    else
        HOW="exited with code $status"
    fi
}

# The upstream and the proxies must run to the end; on a shared machine something else
# (a test's pkill, say) may stop them. Their rows then read n/a, with the reason.
check_processes() {
    local when=$1 target
    if [[ -z "${UNAVAILABLE[upstream]:-}" ]] && ! alive "$UPSTREAM_PID"; then
        how_ended "$UPSTREAM_PID"
        UNAVAILABLE[upstream]=$HOW
        note "the upstream nginx $HOW $when; no numbers after that"
        for target in "${TARGETS[@]}"; do
            UNAVAILABLE[$target]=${UNAVAILABLE[$target]:-"upstream gone"}
        done
    fi
    if [[ -n "$GRPC_UPSTREAM_PID" && -z "${UNAVAILABLE[grpc-upstream]:-}" ]] && ! alive "$GRPC_UPSTREAM_PID"; then
        how_ended "$GRPC_UPSTREAM_PID"
        UNAVAILABLE[grpc-upstream]=$HOW
        note "the gRPC upstream $HOW $when; no gRPC numbers after that"
    fi
    local gone
    for target in "${TARGETS[@]}"; do
        if [[ -n "${TARGET_PID[$target]:-}" && -z "${UNAVAILABLE[$target]:-}" ]] \
            && gone=$(target_gone "$target"); then
            how_ended "$gone"
            UNAVAILABLE[$target]=$HOW
            note "$target $HOW $when: $(tail -n 3 "$WORK/$target.log" "$WORK/$target"-*.log 2>/dev/null | tr '\n' ' ')"
        fi
    done
}

# The headline ratio (h1-c32 req/s and CPU vs nginx and HAProxy) from HEADLINE_RUNS runs:
# the table's run is the first, then the three proxies again, interleaved, run after run.
measure_headline() {
    local run target main=$RESULTS_TSV
    awk -F'\t' -v OFS='\t' '$1 == "h1-c32" && $2 != "direct" { print 1, $2, $3, $6 }' "$RESULTS_TSV" >"$HEADLINE_TSV"
    for (( run = 2; run <= HEADLINE_RUNS; run++ )); do
        RESULTS_TSV=$WORK/headline-run.tsv
        : >"$RESULTS_TSV"
        for target in herald nginx haproxy; do
            measure h1-c32 "$target"
        done
        awk -F'\t' -v OFS='\t' -v run="$run" '{ print run, $2, $3, $6 }' "$RESULTS_TSV" >>"$HEADLINE_TSV"
        RESULTS_TSV=$main
    done
}

# --- report -----------------------------------------------------------------------------

render_table() {
    awk -F'\t' '
        function num(v) { return v != "" && v != "n/a" && v != "-" }
        function ratio(a, b) { return (num(a) && num(b) && b > 0) ? sprintf("%.2f", a / b) : "n/a" }
        function fmt(v, f) { return num(v) ? sprintf(f, v) : v }
        { rows[NR] = $0 }
        $2 == "nginx" { nginx_rps[$1] = $3; nginx_cpu[$1] = $6 }
        END {
            print "| case | proxy | req/s | p50 ms | p99 ms | CPU us/req | peak RSS MB | req/s vs nginx | CPU vs nginx | proxy core busy % |"
            print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
            for (i = 1; i <= NR; i++) {
                split(rows[i], f, "\t")
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", f[1], f[2],
                    fmt(f[3], "%.0f"), fmt(f[4], "%.2f"), fmt(f[5], "%.2f"), fmt(f[6], "%.1f"),
                    f[7], ratio(f[3], nginx_rps[f[1]]),
                    f[2] == "direct" ? "-" : ratio(f[6], nginx_cpu[f[1]]), f[9]
            }
        }
    ' "$RESULTS_TSV"
}

# The issue's targets, each with what was measured, the ratio and PASS or FALL SHORT.
# "at least" goals pass when ratio >= goal; "at most" goals when measured <= limit.
render_targets() {
    awk -F'\t' '
        function num(v) { return v != "" && v != "n/a" && v != "-" }
        function verdict(ok) { return ok ? "PASS" : "FALL SHORT" }
        function line(name, measured, goal, ratio, ok) {
            printf "| %s | %s | %s | %s | %s |\n", name, measured, goal, ratio, ok == "" ? "n/a" : verdict(ok)
        }
        # herald vs OTHER on column COL, at least GOAL times (or at most, when most is set).
        function versus(cs, other, col, goal, unit, most,   h, o, r) {
            h = v[cs, "herald", col]; o = v[cs, other, col]
            if (!num(h) || !num(o) || o <= 0) {
                line(sprintf("%s %s vs %s", cs, unit, other), "n/a", (most ? "<= " : ">= ") goal "x", "n/a", "")
                return
            }
            r = h / o
            line(sprintf("%s %s vs %s", cs, unit, other), sprintf("herald %s, %s %s", fmt(h), other, fmt(o)),
                (most ? "<= " : ">= ") goal "x", sprintf("%.2f", r), most ? r <= goal : r >= goal)
        }
        function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : sprintf("%.2f", x) }
        # Latency added over direct at the fixed rate: herald no more than nginx.
        function added(cs, col, label,   d, h, n, ah, an) {
            d = v[cs, "direct", col]; h = v[cs, "herald", col]; n = v[cs, "nginx", col]
            if (!num(d) || !num(h) || !num(n)) { line(label, "n/a", "<= nginx", "n/a", ""); return }
            ah = h - d; an = n - d
            line(label, sprintf("herald %+.3f ms, nginx %+.3f ms", ah, an), "<= nginx",
                an > 0 ? sprintf("%.2f", ah / an) : "n/a", ah <= an)
        }
        function limit(label, value, most, unit) {
            if (!num(value)) { line(label, "n/a", "<= " most " " unit, "n/a", ""); return }
            line(label, value " " unit, "<= " most " " unit, sprintf("%.2f", value / most), value + 0 <= most)
        }
        # The median over runs of herald / OTHER on column COL (rps or cpu) of h1-c32.
        function headline(other, col, goal, unit, most,   i, n, r, list, a, b, t) {
            n = 0; list = ""
            for (i = 1; i <= runs; i++) {
                a = hv[i, "herald", col]; b = hv[i, other, col]
                if (num(a) && num(b) && b > 0) { r[++n] = a / b; list = list (list == "" ? "" : ", ") sprintf("%.2f", a / b) }
            }
            if (n == 0) { line("h1-c32 " unit " vs " other ", median of runs", "n/a", (most ? "<= " : ">= ") goal "x", "n/a", ""); return }
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
            t = n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
            line(sprintf("**h1-c32 %s vs %s, median of %d runs**", unit, other, n), "ratios " list,
                (most ? "<= " : ">= ") goal "x", sprintf("%.2f", t), most ? t <= goal : t >= goal)
        }
        FILENAME == ARGV[1] { v[$1, $2, "rps"] = $3; v[$1, $2, "p50"] = $4; v[$1, $2, "p99"] = $5
                    v[$1, $2, "cpu"] = $6; v[$1, $2, "rss"] = $7; next }
        FILENAME == ARGV[2] { m[$1] = $2; next }
        { hv[$1, $2, "rps"] = $3; hv[$1, $2, "cpu"] = $4; if ($1 > runs) runs = $1 }
        END {
            print "| target | measured | goal | ratio | verdict |"
            print "|---|---|---|---:|---|"
            headline("nginx", "rps", 1.2, "req/s")
            headline("haproxy", "rps", 1.2, "req/s")
            headline("nginx", "cpu", 0.8, "CPU us/req", 1)
            versus("h1-c256", "nginx", "rps", 1.2, "req/s")
            versus("h1-c256", "haproxy", "rps", 1.2, "req/s")
            versus("h1-c256", "nginx", "cpu", 0.8, "CPU us/req", 1)
            added("h1-rate-half", "p50", "h1-rate-half p50 added over direct")
            added("h1-rate-half", "p99", "h1-rate-half p99 added over direct")
            versus("h2c-c32-m10", "haproxy", "rps", 1.0, "req/s")
            versus("grpc-c32-m10", "haproxy", "rps", 1.0, "req/s")
            limit("idle sidecar RSS", m["idle_rss_mb"], 40, "MB")
            limit("RSS under h1-c256 (peak)", v["h1-c256", "herald", "rss"], 80, "MB")
            limit("idle connection cost (" m["idle_connections"] " open)", m["idle_connection_kb"], 16, "KB")
            limit("start to ready (median of " m["starts"] ")", m["start_to_ready_ms"], 250, "ms")
            # The sidecar pair, beside Istio'"'"'s published sidecar pair at 1,000 req/s.
            c = v["h1-pair-1000rps", "herald-pair", "cpu"]
            if (num(c)) {
                line("sidecar pair vCPU per 1,000 req/s", sprintf("%.3f vCPU", c / 1000), "Istio 0.20 vCPU",
                    sprintf("%.2f", c / 1000 / 0.20), c / 1000 <= 0.20)
            } else { line("sidecar pair vCPU per 1,000 req/s", "n/a", "Istio 0.20 vCPU", "n/a", "") }
            d = v["h1-pair-1000rps", "direct", "p99"]; h = v["h1-pair-1000rps", "herald-pair", "p99"]
            if (num(d) && num(h)) {
                line("sidecar pair p99 added at 1,000 req/s", sprintf("+%.3f ms", h - d), "Istio +1.9 to +2.9 ms",
                    sprintf("%.2f", (h - d) / 1.9), h - d <= 1.9)
            } else { line("sidecar pair p99 added at 1,000 req/s", "n/a", "Istio +1.9 to +2.9 ms", "n/a", "") }
        }
    ' "$RESULTS_TSV" "$METRICS_TSV" "$HEADLINE_TSV"
}

machine_header() {
    local commit
    commit=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    cat <<EOF
# Herald load harness, $(date -u +'%Y-%m-%d %H:%M UTC')

- machine: $(nproc --all) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)
- proxies pinned to CPU $PROXY_CPU (one worker/thread each); wrk/h2load and the upstream nginx on CPU $LOAD_CPU
- ${DURATION}s per measurement after a ${WARMUP}s warm-up; wrk -t1 (32 and 256 connections), h2load -t1 -c32 -m10 (h2c prior knowledge; gRPC unary), h2load --h1 --rps (fixed rate)
- herald: ${HERALD_BIN:-none} (commit $commit) with the image's environment (${HERALD_ENV[*]:-none}); $(nginx -v 2>&1 | sed 's/nginx version: //'); $(haproxy -v 2>/dev/null | awk 'NR == 1 { print "HAProxy " $3 }'); $(wrk -v 2>&1 | awk 'NR == 1 { print "wrk " $2 }'); $(h2load --version | sed 's/h2load //')
EOF
}

# A proxy close to direct's rate was held back by the loader core, not by itself.
ceiling_notes() {
    awk -F'\t' '
        $2 == "direct" { direct[$1] = $3 }
        $2 != "direct" && $3 != "n/a" && ($1 in direct) && $3 >= 0.9 * direct[$1] {
            printf "- %s, %s: %.0f%% of direct, near the loader core'"'"'s ceiling; its req/s ratio understates it\n",
                $2, $1, 100 * $3 / direct[$1]
        }
    ' "$RESULTS_TSV"
    # An open-loop row that fell behind its rate measured a queue, not the proxy's latency.
    awk -F'\t' -v half="${FIXED_RATE:-0}" -v pair="$PAIR_RATE" '
        $1 == "h1-rate-half" && half > 0 && $3 != "n/a" && $3 < 0.95 * half {
            printf "- %s, %s: %.0f req/s of the %d asked for; it fell behind the fixed rate, so its latency includes queueing\n", $2, $1, $3, half
        }
        $1 == "h1-pair-1000rps" && $3 != "n/a" && $3 < 0.95 * pair {
            printf "- %s, %s: %.0f req/s of the %d asked for; it fell behind the fixed rate, so its latency includes queueing\n", $2, $1, $3, pair
        }
    ' "$RESULTS_TSV"
}

report() {
    local results_dir=$REPO_ROOT/bench/results stamp file
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    mkdir -p "$results_dir"
    file=$results_dir/$stamp.md
    {
        machine_header
        echo
        render_table
        echo
        echo "Targets (issue #7; ratios from this run):"
        echo
        render_targets
        echo
        echo "Notes:"
        note "direct: wrk/h2load straight to the upstream, no proxy; it shares CPU $LOAD_CPU with the upstream, as every other row does."
        note "nginx h2c: nginx cannot speak HTTP/2 upstream, so it forwards h2c downstream over HTTP/1.1 keep-alive; Herald and HAProxy use h2c upstream. For gRPC nginx uses grpc_pass (h2c upstream)."
        note "h1-rate-half: h2load --h1 -c$RATE_CONNECTIONS at a fixed ${FIXED_RATE:-n/a} req/s in all (half of nginx's h1-c32 req/s), each connection on its own schedule; latency from h2load's per-request log."
        note "h1-pair-1000rps: h2load --h1 -c$PAIR_CONNECTIONS at $PAIR_RATE req/s; herald-pair is two Herald processes with the sidecar-shaped bootstrap chained by plain listeners on 127.0.0.1 (client side outbound -> server side inbound -> upstream; no iptables interception), both on CPU $PROXY_CPU; its CPU us/req covers both processes, so vCPU per 1,000 req/s = CPU us/req / 1000."
        note "memory and start to ready: Herald with the sidecar-shaped bootstrap (harness/herald-sidecar.yaml), pinned to CPU $PROXY_CPU; RSS is VmRSS."
        ceiling_notes
        cat "$NOTES_FILE"
    } >"$file"
    cat "$file"
    log "written to $file"
}

main() {
    parse_args "$@"
    trap cleanup EXIT INT TERM
    ensure_tools
    check_cpus
    check_ports_free
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")
    RESULTS_TSV=$WORK/results.tsv
    HEADLINE_TSV=$WORK/headline.tsv
    METRICS_TSV=$WORK/metrics.tsv
    NOTES_FILE=$WORK/notes.md
    : >"$RESULTS_TSV"
    : >"$METRICS_TSV"
    : >"$HEADLINE_TSV"
    : >"$NOTES_FILE"
    metric starts "$STARTS"
    metric idle_connections "$IDLE_CONNECTIONS"

    build_herald
    start_upstream
    write_grpc_body
    start_grpc_upstream
    start_nginx_proxy
    start_haproxy
    start_herald
    start_herald_pair
    wait_for_startup_pages herald herald-pair-server herald-pair-client

    local case target targets
    for case in "${CASES[@]}"; do
        if [[ $case == h1-pair-* ]]; then targets=(direct herald-pair); else targets=("${PROXIES[@]}"); fi
        for target in "${targets[@]}"; do
            measure "$case" "$target"
        done
        if [[ $case == h1-c32 ]]; then
            FIXED_RATE=$(awk -F'\t' '$1 == "h1-c32" && $2 == "nginx" && $3 != "n/a" { printf "%.0f", $3 / 2 }' "$RESULTS_TSV")
        fi
    done
    measure_headline
    measure_start_to_ready
    measure_idle_memory
    report
}

main "$@"; exit  # one line: edits to this file during a run cannot be read
