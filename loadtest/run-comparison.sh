#!/usr/bin/env bash
# Runs Tollgate side by side with its baselines on this machine and writes the report to
# loadtest/target/report/ (report.md, report.json, report.html; one JSON per run in runs/, server
# logs in logs/). Everything it starts listens on 127.0.0.1 on free ports and is stopped on exit.
#
#   loadtest/run-comparison.sh            the full comparison (issue 5's method; see README "Load tests")
#   loadtest/run-comparison.sh --quick    a short pass over every scenario (CI: completion and zero errors)
#
# Options: --rounds N, --warmup S, --duration S (measured), --concurrency C, --keys N,
#          --cpu-rate R (fixed rate of the CPU scenario; default half of echo's measured maximum),
#          --build (rebuild even if the jars exist).
# Environment: JAVA (default java), SERVER_HEAP (default 512m), GATEWAY_CMD (see below).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0
ROUNDS=3
WARMUP=25
DURATION=20
CONCURRENCY=64
KEYS=100000
CPU_RATE=""
FORCE_BUILD=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --concurrency) CONCURRENCY=$2; shift ;;
    --keys) KEYS=$2; shift ;;
    --cpu-rate) CPU_RATE=$2; shift ;;
    --build) FORCE_BUILD=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  # Checks that every scenario runs and every call is answered; figures are noise.
  ROUNDS=1 WARMUP=1 DURATION=1 CONCURRENCY=4 KEYS=10000
  CPU_RATE=${CPU_RATE:-200}
fi
LIMIT=1000             # requests per second per key, every server
CHECK_KEYS=1000        # API keys declared for the check-API scenario
MEMORY_KEYS=1000000    # active keys written into the two-member cluster before heap is measured
if [ "$QUICK" = 1 ]; then CHECK_KEYS=100 MEMORY_KEYS=2000; fi
JAVA=${JAVA:-java}
HEAP=${SERVER_HEAP:-512m}
[ "$QUICK" = 1 ] && HEAP=${SERVER_HEAP:-256m}

OUT=$ROOT/loadtest/target/report
RUNS=$OUT/runs
LOGS=$OUT/logs
WORK=$ROOT/loadtest/target/comparison-work
rm -rf "$OUT" "$WORK"
mkdir -p "$RUNS" "$LOGS" "$WORK"
T0=$(date +%s)

# --- Build what is missing -------------------------------------------------------------------
LT_JAR=$ROOT/loadtest/target/loadtest.jar
LIMITER_JAR=$ROOT/limiter-service/target/limiter-service.jar
if [ "$FORCE_BUILD" = 1 ] || [ ! -f "$LT_JAR" ] || [ ! -f "$LIMITER_JAR" ]; then
  echo "== building loadtest and limiter-service jars"
  mvn -B -q -o -DskipTests package -pl loadtest -am \
    || mvn -B -q -DskipTests package -pl loadtest -am
fi
LT=("$JAVA" -Xmx256m -jar "$LT_JAR")
if [ "$QUICK" = 1 ]; then
  # Short-lived client JVMs: compile less, start sooner.
  LT=("$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$LT_JAR")
fi

# --- Stop everything we start, whatever happens ----------------------------------------------
PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ ${#PIDS[@]} -gt 0 ]; then
    echo "== stopping ${#PIDS[@]} processes"
    kill "${PIDS[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
      local alive=0
      for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.2
    done
    kill -9 "${PIDS[@]}" 2>/dev/null || true
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Ports -----------------------------------------------------------------------------------
mapfile -t P < <("${LT[@]}" free-ports 20)
TG_GRPC=${P[0]} TG_HTTP=${P[1]} TG_CLUSTER=${P[2]}
TG2A_GRPC=${P[3]} TG2A_HTTP=${P[4]} TG2A_CLUSTER=${P[5]}
TG2B_GRPC=${P[6]} TG2B_HTTP=${P[7]} TG2B_CLUSTER=${P[8]}
ECHO_PORT=${P[9]} ECHO_DEFAULT_PORT=${P[10]}
B4J_PORT=${P[11]} B4J_CLUSTER=${P[12]}
REDIS_PORT=${P[13]} REDIS_RLS_PORT=${P[14]}
IMAP_PORT=${P[15]} IMAP_CLUSTER=${P[16]}
UPSTREAM_PORT=${P[17]} NGINX_PORT=${P[18]} ADAPTER_PORT=${P[19]}

# --- Tollgate's config: one rule for the RLS scenarios, plans and keys for the check API -----
CONFIG=$WORK/config
mkdir -p "$CONFIG"
cat > "$CONFIG/rules.yaml" <<EOF
# Every descriptor {k: <key>} gets a fixed window of $LIMIT per second, as every baseline does.
domain: loadtest
descriptors:
  - key: k
    rate_limit: {requests_per_unit: $LIMIT, unit: second}
EOF
cat > "$CONFIG/memory.yaml" <<EOF
# Hour-long windows, so every key written for the memory measurement stays active (and in the map).
domain: loadtest-memory
descriptors:
  - key: k
    rate_limit: {requests_per_unit: $LIMIT, unit: hour}
EOF
KEY_PREFIX=loadtest-key-
{
  echo "account:"
  echo "  throttle: {rate: 1000000, burst: 1000000}"
  echo "stages:"
  echo "  - api: loadtest"
  echo "    stage: prod"
  echo "    throttle: {rate: 1000000, burst: 1000000}"
  echo "usage_plans:"
  echo "  - id: loadtest"
  echo "    throttle: {rate: $LIMIT, burst: $LIMIT}"
  echo "    quota: {limit: 1000000000, period: DAY}"
  echo "    api_stages:"
  echo "      - {api: loadtest, stage: prod}"
  echo "api_keys:"
  for i in $(seq 0 $((CHECK_KEYS - 1))); do
    printf '  - {id: lt-%d, value: %s%012d, plans: [loadtest]}\n' "$i" "$KEY_PREFIX" "$i"
  done
} > "$CONFIG/plans.yaml"

# --- Servers ---------------------------------------------------------------------------------
JVM=("$JAVA" "-Xms$HEAP" "-Xmx$HEAP")
if [ "$QUICK" = 1 ]; then
  # Eight JVMs start at once on a small machine: in quick mode (no figure matters) they compile
  # with C1 only and collect with one thread, so they are ready sooner.
  JVM+=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
fi
start() { # name, command...
  local name=$1; shift
  "$@" > "$LOGS/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_${name//-/_}=$!"
}
echo "== starting servers (logs in $LOGS)"
start tollgate "${JVM[@]}" -jar "$LIMITER_JAR" --config "$CONFIG" --data-dir "$WORK/data-1" \
  --grpc-port "$TG_GRPC" --http-port "$TG_HTTP" --cluster-port "$TG_CLUSTER"
MEMBERS=127.0.0.1:$TG2A_CLUSTER,127.0.0.1:$TG2B_CLUSTER
# Separate database directories: two members started at the same moment on one shared directory
# raced for H2's lock here ("Locked by another process"), and the second failed to start.
start tollgate2a "${JVM[@]}" -jar "$LIMITER_JAR" --config "$CONFIG" --data-dir "$WORK/data-2a" \
  --grpc-port "$TG2A_GRPC" --http-port "$TG2A_HTTP" --cluster-port "$TG2A_CLUSTER" \
  --members "$MEMBERS" --cluster-name loadtest-2
start tollgate2b "${JVM[@]}" -jar "$LIMITER_JAR" --config "$CONFIG" --data-dir "$WORK/data-2b" \
  --grpc-port "$TG2B_GRPC" --http-port "$TG2B_HTTP" --cluster-port "$TG2B_CLUSTER" \
  --members "$MEMBERS" --cluster-name loadtest-2
start echo "${JVM[@]}" -jar "$LT_JAR" serve --kind echo --port "$ECHO_PORT"
# Quick mode leaves out the second echo (the same server with other gRPC settings) to save time.
if [ "$QUICK" = 0 ]; then
  start echo-default "${JVM[@]}" -jar "$LT_JAR" serve --kind echo --port "$ECHO_DEFAULT_PORT" \
    --grpc-settings default
fi
start bucket4j "${JVM[@]}" -jar "$LT_JAR" serve --kind bucket4j --port "$B4J_PORT" \
  --cluster-port "$B4J_CLUSTER" --limit "$LIMIT"
start imap-blocking "${JVM[@]}" -jar "$LT_JAR" serve --kind imap-blocking --port "$IMAP_PORT" \
  --cluster-port "$IMAP_CLUSTER" --limit "$LIMIT"
start upstream "${JVM[@]}" -jar "$LT_JAR" serve --kind http-upstream --port "$UPSTREAM_PORT"

HAVE_REDIS=0
if command -v redis-server >/dev/null; then
  HAVE_REDIS=1
  start redis-server redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' \
    --appendonly no --daemonize no --protected-mode yes --dir "$WORK"
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
    sleep 0.1
  done
  start redis "${JVM[@]}" -jar "$LT_JAR" serve --kind redis --port "$REDIS_RLS_PORT" \
    --redis "127.0.0.1:$REDIS_PORT" --limit "$LIMIT"
else
  echo "warning: redis-server not found: the Redis baseline is skipped" >&2
fi

HAVE_NGINX=0
if command -v nginx >/dev/null; then
  HAVE_NGINX=1
  mkdir -p "$WORK/nginx/logs"
  cat > "$WORK/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  upstream app { server 127.0.0.1:$UPSTREAM_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  start nginx nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
fi

# The gateway adapter is optional until its jar exists: GATEWAY_CMD is a command line that starts
# it, with \$ADAPTER_PORT, \$UPSTREAM_URL and \$LIMITER_GRPC in its environment, e.g.
#   GATEWAY_CMD='java -jar gateway-adapter/target/gateway-adapter.jar --port $ADAPTER_PORT ...'
HAVE_ADAPTER=0
if [ -n "${GATEWAY_CMD:-}" ]; then
  HAVE_ADAPTER=1
  export ADAPTER_PORT UPSTREAM_URL=http://127.0.0.1:$UPSTREAM_PORT LIMITER_GRPC=127.0.0.1:$TG_GRPC
  start adapter bash -c "exec $GATEWAY_CMD"
fi

# Wait for every server at once (each check is a short-lived JVM).
AWAITS=()
await() { # name, await options...
  local name=$1; shift
  ( if ! "${LT[@]}" await --wait-seconds 180 "$@" > "$LOGS/await-$name.log" 2>&1; then
      echo "error: $name did not become ready; its log:" >&2
      tail -20 "$LOGS/$name.log" >&2 || true
      cat "$LOGS/await-$name.log" >&2
      exit 1
    fi ) &
  AWAITS+=($!)
}
await tollgate --address "127.0.0.1:$TG_GRPC"
await tollgate-check --target check --address "127.0.0.1:$TG_GRPC" --api-key-prefix "$KEY_PREFIX"
await tollgate2a --address "127.0.0.1:$TG2A_GRPC"
await tollgate2b --address "127.0.0.1:$TG2B_GRPC"
await echo --address "127.0.0.1:$ECHO_PORT"
if [ "$QUICK" = 0 ]; then await echo-default --address "127.0.0.1:$ECHO_DEFAULT_PORT"; fi
await bucket4j --address "127.0.0.1:$B4J_PORT"
await imap-blocking --address "127.0.0.1:$IMAP_PORT"
if [ $HAVE_REDIS = 1 ]; then await redis --address "127.0.0.1:$REDIS_RLS_PORT"; fi
await upstream --target http --url "http://127.0.0.1:$UPSTREAM_PORT/"
if [ $HAVE_NGINX = 1 ]; then await nginx --target http --url "http://127.0.0.1:$NGINX_PORT/"; fi
if [ $HAVE_ADAPTER = 1 ]; then await adapter --target http --url "http://127.0.0.1:$ADAPTER_PORT/"; fi
# Fail fast when a server dies while we wait for it.
while :; do
  waiting=0
  for a in "${AWAITS[@]}"; do kill -0 "$a" 2>/dev/null && waiting=1; done
  [ $waiting = 0 ] && break
  for p in "${PIDS[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      echo "error: server process $p exited during start-up; logs in $LOGS:" >&2
      grep -l . "$LOGS"/*.log | while read -r f; do
        grep -qiE "error|exception" "$f" && { echo "--- $f" >&2; tail -5 "$f" >&2; }
      done
      exit 1
    fi
  done
  sleep 0.5
done
for a in "${AWAITS[@]}"; do
  wait "$a" || exit 1
done
echo "== servers ready after $(( $(date +%s) - T0 )) s"

NGINX_PIDS=""
if [ $HAVE_NGINX = 1 ]; then
  NGINX_PIDS=$(echo "$PID_nginx" $(pgrep -P "$PID_nginx" || true) | tr ' ' ',')
fi

# --- Servers: name -> address and the processes whose CPU counts ------------------------------
declare -A ADDR CPU
ADDR[tollgate]=127.0.0.1:$TG_GRPC;                  CPU[tollgate]=$PID_tollgate
ADDR[tollgate-2members]=127.0.0.1:$TG2A_GRPC,127.0.0.1:$TG2B_GRPC
CPU[tollgate-2members]=$PID_tollgate2a,$PID_tollgate2b
ADDR[echo]=127.0.0.1:$ECHO_PORT;                    CPU[echo]=$PID_echo
if [ "$QUICK" = 0 ]; then
  ADDR[echo-default]=127.0.0.1:$ECHO_DEFAULT_PORT;  CPU[echo-default]=$PID_echo_default
fi
ADDR[bucket4j]=127.0.0.1:$B4J_PORT;                 CPU[bucket4j]=$PID_bucket4j
ADDR[imap-blocking]=127.0.0.1:$IMAP_PORT;           CPU[imap-blocking]=$PID_imap_blocking
if [ $HAVE_REDIS = 1 ]; then
  ADDR[redis]=127.0.0.1:$REDIS_RLS_PORT;            CPU[redis]=$PID_redis,$PID_redis_server
fi
ADDR[upstream-direct]=http://127.0.0.1:$UPSTREAM_PORT/;  CPU[upstream-direct]=$PID_upstream
if [ $HAVE_NGINX = 1 ]; then
  ADDR[nginx]=http://127.0.0.1:$NGINX_PORT/;         CPU[nginx]=$PID_upstream,$NGINX_PIDS
fi
if [ $HAVE_ADAPTER = 1 ]; then
  ADDR[gateway-adapter]=http://127.0.0.1:$ADAPTER_PORT/
  CPU[gateway-adapter]=$PID_upstream,$PID_adapter
fi
present() { for s in "$@"; do if [ -n "${ADDR[$s]:-}" ]; then echo "$s"; fi; done; }

FAILED=0
RUN_N=0
# run SCENARIO TITLE SERVER ROUND [run options...]
run() {
  local scenario=$1 title=$2 server=$3 round=$4; shift 4
  RUN_N=$((RUN_N + 1))
  local file
  file=$(printf '%s/%03d-%s-%s-r%d.json' "$RUNS" "$RUN_N" "$scenario" "$server" "$round")
  local target=(--address "${ADDR[$server]}")
  case "${ADDR[$server]}" in
    http://*) target=(--target http --url "${ADDR[$server]}") ;;
  esac
  echo "== [$(( $(date +%s) - T0 )) s] $scenario / $server / round $round"
  if ! "${LT[@]}" run "${target[@]}" --scenario "$scenario" --title "$title" --server "$server" \
      --round "$round" --warmup "$WARMUP" --duration "$DURATION" --cpu-pid "${CPU[$server]}" \
      --out "$file" "$@" > "$LOGS/run-$RUN_N.log" 2>&1; then
    echo "error: run $scenario / $server failed; its log:" >&2
    tail -20 "$LOGS/run-$RUN_N.log" >&2
    FAILED=1
    return
  fi
  grep '^result' "$LOGS/run-$RUN_N.log" || true
}
# The measured throughput of a run file.
throughput_of() { sed -n 's/^ *"throughput": \([0-9.eE+-]*\),*$/\1/p' "$1" | head -1; }
half_of() { awk -v t="$1" 'BEGIN { r = int(t / 2); if (r < 50) r = 50; print r }'; }
# Rotate a server list by the round number, so no server always runs first.
rotate() { local n=$1; shift; local a=("$@"); local k=$(( n % ${#a[@]} ));
  echo "${a[@]:k}" "${a[@]:0:k}"; }

CLOSED=(--mode closed --concurrency "$CONCURRENCY")
UNIFORM=(--keys "uniform:$KEYS")
S1_SERVERS=$(present tollgate echo echo-default bucket4j redis imap-blocking)
FIXED_SERVERS=$(present tollgate tollgate-2members echo echo-default bucket4j redis imap-blocking)
HTTP_SERVERS=$(present upstream-direct nginx gateway-adapter)
[ "$QUICK" = 1 ] && FIXED_SERVERS=$(present tollgate tollgate-2members echo redis)

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS"
  # 1, 2: closed loop, 1 descriptor, uniform keys: Tollgate against every baseline.
  for s in $(rotate "$round" $S1_SERVERS); do
    run closed-1d-uniform "closed loop, 1 descriptor, uniform keys" "$s" "$round" \
      "${CLOSED[@]}" "${UNIFORM[@]}"
  done
  # CPU per decision at one fixed rate for every server: half of echo's maximum (round 1).
  if [ -z "$CPU_RATE" ]; then
    ECHO_FILE=$(ls "$RUNS"/*-closed-1d-uniform-echo-r1.json 2>/dev/null | head -1)
    CPU_RATE=$(half_of "$(throughput_of "$ECHO_FILE")")
    echo "== fixed rate for CPU per decision: $CPU_RATE req/s (half of echo's closed-loop maximum)"
  fi
  for s in $(rotate "$round" $FIXED_SERVERS); do
    run fixed-rate "open loop at $CPU_RATE req/s: CPU per decision and latency" "$s" "$round" \
      --mode open --rate "$CPU_RATE" "${UNIFORM[@]}"
  done
  # 6: latency in open loop at half of Tollgate's own maximum (round 1), Tollgate against echo.
  if [ "$QUICK" = 0 ]; then
    if [ -z "${HALF_TG:-}" ]; then
      TG_FILE=$(ls "$RUNS"/*-closed-1d-uniform-tollgate-r1.json | head -1)
      HALF_TG=$(half_of "$(throughput_of "$TG_FILE")")
    fi
    for s in $(rotate "$round" tollgate echo); do
      run open-half-tollgate "open loop at half of Tollgate's maximum ($HALF_TG req/s)" "$s" \
        "$round" --mode open --rate "$HALF_TG" "${UNIFORM[@]}"
    done
  fi
  # 3: four descriptors per request.
  for s in $(rotate "$round" tollgate echo); do
    run closed-4d-uniform "closed loop, 4 descriptors, uniform keys" "$s" "$round" \
      "${CLOSED[@]}" "${UNIFORM[@]}" --descriptors 4
  done
  # 4: hot keys.
  run closed-1d-zipf "closed loop, 1 descriptor, Zipf s=1.1" tollgate "$round" \
    "${CLOSED[@]}" --keys "zipf:$KEYS:1.1"
  run closed-1d-single "closed loop, 1 descriptor, one key for everything" tollgate "$round" \
    "${CLOSED[@]}" --keys single
  # 5: two members, the client spreading calls over both.
  run closed-1d-2members "closed loop, two members on this machine" tollgate-2members "$round" \
    "${CLOSED[@]}" "${UNIFORM[@]}"
  # Tollgate's own check API (usage plans), over its declared keys.
  run check-api "closed loop, tollgate.v1.CheckService/Check, $CHECK_KEYS keys in a plan" \
    tollgate "$round" --target check --api-key-prefix "$KEY_PREFIX" "${CLOSED[@]}" \
    --keys "uniform:$CHECK_KEYS"
  # 8: HTTP: the upstream directly, through nginx, through the gateway adapter (when given).
  for s in $(rotate "$round" $HTTP_SERVERS); do
    run http-proxy "closed loop over HTTP: upstream directly, via nginx, via the adapter" "$s" \
      "$round" "${CLOSED[@]}" --keys "uniform:$KEYS"
  done
  # 8: added latency at half load: open loop at half of the direct upstream's maximum (round 1).
  if [ "$QUICK" = 0 ]; then
    if [ -z "${HALF_HTTP:-}" ]; then
      UP_FILE=$(ls "$RUNS"/*-http-proxy-upstream-direct-r1.json | head -1)
      HALF_HTTP=$(half_of "$(throughput_of "$UP_FILE")")
    fi
    for s in $(rotate "$round" $HTTP_SERVERS); do
      run http-half-load "open loop over HTTP at half of the direct upstream's maximum ($HALF_HTTP req/s)" \
        "$s" "$round" --mode open --rate "$HALF_HTTP" --keys "uniform:$KEYS"
    done
  fi
done

# --- 7: memory: MEMORY_KEYS active keys in the two-member cluster, heap after a full GC --------
heap_used_mib() { # pid -> MiB used after a full GC
  jcmd "$1" GC.run >/dev/null 2>&1 || true
  # G1 prints one "garbage-first heap total ..., used NK" line; Serial and Parallel one per
  # generation. Metaspace is not heap.
  jcmd "$1" GC.heap_info 2>/dev/null | awk '/(heap|generation) +total/ {
      for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K,?$/, "", v); sum += v } }
    END { printf "%.0f", sum / 1024 }'
}
MEMORY=""
if command -v jcmd >/dev/null; then
  BEFORE_A=- BEFORE_B=-
  if [ "$QUICK" = 0 ]; then
    BEFORE_A=$(heap_used_mib "$PID_tollgate2a") BEFORE_B=$(heap_used_mib "$PID_tollgate2b")
  fi
  # Every key once, in order (sequential keys), closed loop until all are written: the duration
  # comes from the two members' measured rate (at least 10 s, at most 10 minutes).
  TWO_FILE=$(ls "$RUNS"/*-closed-1d-2members-tollgate-2members-r1.json 2>/dev/null | head -1)
  TWO_RATE=$(throughput_of "$TWO_FILE" 2>/dev/null || true)
  FILL_SECONDS=$(awk -v n="$MEMORY_KEYS" -v r="${TWO_RATE:-1000}" \
    'BEGIN { if (r < 100) r = 100; s = int(n / r * 1.3) + 1; if (s < 10) s = 10; if (s > 600) s = 600; print s }')
  [ "$QUICK" = 1 ] && FILL_SECONDS=1
  run memory-fill "writes $MEMORY_KEYS keys (sequential) into the two-member cluster" \
    tollgate-2members 1 --domain loadtest-memory "${CLOSED[@]}" --keys "sequential:$MEMORY_KEYS" \
    --warmup 0 --duration "$FILL_SECONDS"
  FILL_FILE=$(ls "$RUNS"/*-memory-fill-*.json 2>/dev/null | head -1)
  FILLED=0
  if [ -n "$FILL_FILE" ]; then
    FILLED=$(sed -n 's/^ *"allowed": \([0-9]*\),*$/\1/p' "$FILL_FILE" | head -1)
  fi
  [ "${FILLED:-0}" -gt "$MEMORY_KEYS" ] && FILLED=$MEMORY_KEYS
  AFTER_A=$(heap_used_mib "$PID_tollgate2a") AFTER_B=$(heap_used_mib "$PID_tollgate2b")
  MEMORY="Memory (target 7): ${FILLED:-0} of $MEMORY_KEYS keys written to two members (one backup); heap used after a full GC, member A ${BEFORE_A} MiB -> ${AFTER_A} MiB, member B ${BEFORE_B} MiB -> ${AFTER_B} MiB (heap limit $HEAP each)."
  echo "== $MEMORY"
else
  MEMORY="Memory (target 7): not measured (no jcmd)."
fi

# --- Report ----------------------------------------------------------------------------------
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
MODE=full; [ "$QUICK" = 1 ] && MODE="quick (figures are noise: completion and errors only)"
HEADER="Mode: $MODE. $(date -u +%Y-%m-%dT%H:%MZ), commit $COMMIT, $(nproc) cores, $ROUNDS round(s), warm-up $WARMUP s, measured $DURATION s, C=$CONCURRENCY, limit $LIMIT/s per key, server heap $HEAP. Client and servers share the machine. $MEMORY"
"${LT[@]}" report --runs "$RUNS" --out "$OUT" --header "$HEADER" --fail-on-errors \
  --compare "4 descriptors vs 1 (target >= 0.7)|throughput|closed-4d-uniform/tollgate|closed-1d-uniform/tollgate" \
  --compare "Zipf 1.1 vs uniform (target >= 0.9)|throughput|closed-1d-zipf/tollgate|closed-1d-uniform/tollgate" \
  --compare "one key vs uniform (target >= 0.7)|throughput|closed-1d-single/tollgate|closed-1d-uniform/tollgate" \
  --compare "two members vs one (target >= 0.8)|throughput|closed-1d-2members/tollgate-2members|closed-1d-uniform/tollgate" \
  --compare "two members CPU/decision vs echo (target <= 1.8)|cpu|fixed-rate/tollgate-2members|fixed-rate/echo" \
  --compare "p99 at half Tollgate max vs echo|p99|open-half-tollgate/tollgate|open-half-tollgate/echo" \
  --compare "nginx vs upstream directly|throughput|http-proxy/nginx|http-proxy/upstream-direct" \
  --compare "adapter vs upstream directly|throughput|http-proxy/gateway-adapter|http-proxy/upstream-direct" \
  --compare "adapter p50 at half load vs direct (ratio; ms in the table)|p50|http-half-load/gateway-adapter|http-half-load/upstream-direct" \
  || FAILED=1
echo "== done in $(( $(date +%s) - T0 )) s; report: $OUT/report.md, report.html, report.json"
if [ "$FAILED" != 0 ]; then
  echo "FAILED: a run failed or reported errors (see above and $LOGS)" >&2
  exit 1
fi
