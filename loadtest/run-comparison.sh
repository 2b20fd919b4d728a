#!/usr/bin/env bash
# Runs Tollgate side by side with its baselines on this machine and writes the report to
# loadtest/target/report/ (report.md, report.json, report.html; one JSON per run in runs/, server
# logs in logs/). Everything it starts listens on 127.0.0.1 on free ports and is stopped on exit.
#
#   loadtest/run-comparison.sh            the full comparison (issue 5's method; see docs/load-tests.md)
#   loadtest/run-comparison.sh --quick    a short pass over every scenario (CI: completion and zero errors)
#   loadtest/run-comparison.sh --soak     Tollgate alone for 10 minutes at 70% of its maximum: flat
#                                         latency, heap and counters map (loadtest/target/report-soak/)
#
# Options: --rounds N, --warmup S, --duration S (measured), --concurrency C, --keys N,
#          --cpu-rate R (fixed rate of the CPU scenario; default half of the slowest closed-loop
#            maximum among the fixed-rate servers, measured in round 1),
#          --http-rate R (rate of http-half-load; default half of the slowest closed-loop
#            maximum among nginx-auth and the adapters, measured in round 1),
#          --only S1,S2 (run only these scenarios, and start only the servers they need; a
#            scenario whose rate comes from another's run brings that one along),
#          --soak-minutes M (default 10), --soak-interval S (seconds per soak summary; default 60),
#          --build (rebuild even if the jars exist).
# Scenarios: closed-1d-uniform closed-1d-2members fixed-rate open-half-tollgate closed-4d-uniform
#            closed-1d-zipf closed-1d-single check-api http-proxy http-half-load memory
# Environment: JAVA (default java), SERVER_HEAP (default 512m), GATEWAY_CMD (see below),
#   BASELINE_ADAPTER_JAR (another adapter jar, run beside the current one as
#   gateway-adapter-baseline in the HTTP scenarios, e.g. the jar of an earlier commit),
#   ADAPTER_JFR=1 (the adapters record a JFR profile into the logs directory),
#   LIMITER_JFR=1 (the Tollgate members do the same: where a decision's CPU goes).
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
HTTP_RATE=""
FORCE_BUILD=0
ONLY=""
SOAK=0
SOAK_MINUTES=10
SOAK_INTERVAL=60
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --concurrency) CONCURRENCY=$2; shift ;;
    --keys) KEYS=$2; shift ;;
    --cpu-rate) CPU_RATE=$2; shift ;;
    --http-rate) HTTP_RATE=$2; shift ;;
    --build) FORCE_BUILD=1 ;;
    --only) ONLY=$2; shift ;;
    --soak) SOAK=1 ;;
    --soak-minutes) SOAK_MINUTES=$2; shift ;;
    --soak-interval) SOAK_INTERVAL=$2; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
ALL_SCENARIOS="closed-1d-uniform closed-1d-2members fixed-rate open-half-tollgate closed-4d-uniform closed-1d-zipf closed-1d-single check-api http-proxy http-half-load memory"
for sc in ${ONLY//,/ }; do
  case " $ALL_SCENARIOS " in
    *" $sc "*) ;;
    *) echo "unknown scenario in --only: $sc (scenarios: $ALL_SCENARIOS)" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ] && [ "$SOAK" = 1 ]; then echo "--quick and --soak exclude each other" >&2; exit 2; fi
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
WORK=$ROOT/loadtest/target/comparison-work
# The soak has its own directories, so it neither erases nor is erased by a comparison.
if [ "$SOAK" = 1 ]; then OUT=$ROOT/loadtest/target/report-soak WORK=$ROOT/loadtest/target/soak-work; fi
RUNS=$OUT/runs
LOGS=$OUT/logs
rm -rf "$OUT" "$WORK"
mkdir -p "$RUNS" "$LOGS" "$WORK"
T0=$(date +%s)

# --- Build what is missing -------------------------------------------------------------------
LT_JAR=$ROOT/loadtest/target/loadtest.jar
LIMITER_JAR=$ROOT/limiter-service/target/limiter-service.jar
ADAPTER_JAR=$ROOT/gateway-adapter/target/gateway-adapter.jar
if [ "$FORCE_BUILD" = 1 ] || [ ! -f "$LT_JAR" ] || [ ! -f "$LIMITER_JAR" ] \
    || { [ ! -f "$ADAPTER_JAR" ] && [ -z "${GATEWAY_CMD:-}" ]; }; then
  echo "== building the loadtest, limiter-service and gateway-adapter jars"
  mvn -B -q -o -DskipTests package -pl loadtest,gateway-adapter -am \
    || mvn -B -q -DskipTests package -pl loadtest,gateway-adapter -am
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
mapfile -t P < <("${LT[@]}" free-ports 24)
TG_GRPC=${P[0]} TG_HTTP=${P[1]} TG_CLUSTER=${P[2]}
TG2A_GRPC=${P[3]} TG2A_HTTP=${P[4]} TG2A_CLUSTER=${P[5]}
TG2B_GRPC=${P[6]} TG2B_HTTP=${P[7]} TG2B_CLUSTER=${P[8]}
ECHO_PORT=${P[9]} ECHO_DEFAULT_PORT=${P[10]}
B4J_PORT=${P[11]} B4J_CLUSTER=${P[12]}
REDIS_PORT=${P[13]} REDIS_RLS_PORT=${P[14]}
IMAP_PORT=${P[15]} IMAP_CLUSTER=${P[16]}
UPSTREAM_PORT=${P[17]} NGINX_PORT=${P[18]} ADAPTER_PORT=${P[19]} ADAPTER_ADMIN_PORT=${P[20]}
NGINX_AUTH_PORT=${P[21]} BASE_ADAPTER_PORT=${P[22]} BASE_ADAPTER_ADMIN_PORT=${P[23]}

# --- Which scenarios run, and which servers they need -----------------------------------------
declare -A SEL
ONLY=${ONLY//,/ }
for sc in ${ONLY:-$ALL_SCENARIOS}; do SEL[$sc]=1; done
if [ "$QUICK" = 1 ] && [ -z "$ONLY" ]; then
  # Quick mode leaves out the open-loop runs at half of a measured maximum: 1 s maxima mean nothing.
  unset 'SEL[open-half-tollgate]' 'SEL[http-half-load]'
fi
if [ "$SOAK" = 1 ]; then SEL=(); fi
# A rate taken from another scenario's round-1 run needs that run.
if [ -n "${SEL[fixed-rate]:-}" ] && [ -z "$CPU_RATE" ]; then
  SEL[closed-1d-uniform]=1 SEL[closed-1d-2members]=1
fi
if [ -n "${SEL[open-half-tollgate]:-}" ]; then SEL[closed-1d-uniform]=1; fi
if [ -n "${SEL[http-half-load]:-}" ]; then SEL[http-proxy]=1; fi
selected() { [ -n "${SEL[$1]:-}" ]; }
declare -A NEED
need() { for s in "$@"; do NEED[$s]=1; done; }
selected closed-1d-uniform && need tollgate echo echo-default bucket4j redis imap-blocking
selected fixed-rate && need tollgate tollgate-2members echo echo-default bucket4j redis imap-blocking
selected open-half-tollgate && need tollgate echo
selected closed-4d-uniform && need tollgate echo
selected closed-1d-zipf && need tollgate
selected closed-1d-single && need tollgate
selected check-api && need tollgate
selected closed-1d-2members && need tollgate-2members
selected memory && need tollgate-2members
# The adapter asks the single member about every request.
selected http-proxy && need upstream nginx gateway-adapter tollgate
[ "$SOAK" = 1 ] && need tollgate
needed() { [ -n "${NEED[$1]:-}" ]; }
if [ "$SOAK" = 0 ]; then
  echo "== scenarios: $(for sc in $ALL_SCENARIOS; do selected "$sc" && printf '%s ' "$sc"; done)"
fi

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
cat > "$CONFIG/check.yaml" <<EOF
# nginx's auth_request scenario: two descriptors per request on /check, each its own counter, as
# the adapter's open route has two levels (account and stage); limits never reached.
domain: loadtest-check
descriptors:
  - key: account
    rate_limit: {requests_per_unit: 1000000000, unit: second}
  - key: stage
    rate_limit: {requests_per_unit: 1000000000, unit: second}
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
limiter_jvm() { # name: the JVM command line of one Tollgate member
  LIMITER_JVM=("${JVM[@]}")
  if [ "${LIMITER_JFR:-0}" = 1 ]; then
    LIMITER_JVM+=("-XX:StartFlightRecording=filename=$LOGS/$1.jfr,settings=profile,dumponexit=true")
  fi
}
start() { # name, command...
  local name=$1; shift
  "$@" > "$LOGS/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_${name//-/_}=$!"
}
echo "== starting servers (logs in $LOGS)"
# Quick mode leaves out the second echo (the same server with other gRPC settings) to save time.
[ "$QUICK" = 1 ] && unset 'NEED[echo-default]'
if needed tollgate; then
  limiter_jvm tollgate
  start tollgate "${LIMITER_JVM[@]}" -jar "$LIMITER_JAR" --config "$CONFIG" --data-dir "$WORK/data-1" \
    --grpc-port "$TG_GRPC" --http-port "$TG_HTTP" --cluster-port "$TG_CLUSTER"
fi
if needed tollgate-2members; then
  MEMBERS=127.0.0.1:$TG2A_CLUSTER,127.0.0.1:$TG2B_CLUSTER
  # Separate database directories: two members started at the same moment on one shared directory
  # raced for H2's lock here ("Locked by another process"), and the second failed to start.
  limiter_jvm tollgate2a
  start tollgate2a "${LIMITER_JVM[@]}" -jar "$LIMITER_JAR" --config "$CONFIG" --data-dir "$WORK/data-2a" \
    --grpc-port "$TG2A_GRPC" --http-port "$TG2A_HTTP" --cluster-port "$TG2A_CLUSTER" \
    --members "$MEMBERS" --cluster-name loadtest-2
  limiter_jvm tollgate2b
  start tollgate2b "${LIMITER_JVM[@]}" -jar "$LIMITER_JAR" --config "$CONFIG" --data-dir "$WORK/data-2b" \
    --grpc-port "$TG2B_GRPC" --http-port "$TG2B_HTTP" --cluster-port "$TG2B_CLUSTER" \
    --members "$MEMBERS" --cluster-name loadtest-2
fi
if needed echo; then
  start echo "${JVM[@]}" -jar "$LT_JAR" serve --kind echo --port "$ECHO_PORT"
fi
if needed echo-default; then
  start echo-default "${JVM[@]}" -jar "$LT_JAR" serve --kind echo --port "$ECHO_DEFAULT_PORT" \
    --grpc-settings default
fi
if needed bucket4j; then
  start bucket4j "${JVM[@]}" -jar "$LT_JAR" serve --kind bucket4j --port "$B4J_PORT" \
    --cluster-port "$B4J_CLUSTER" --limit "$LIMIT"
fi
if needed imap-blocking; then
  start imap-blocking "${JVM[@]}" -jar "$LT_JAR" serve --kind imap-blocking --port "$IMAP_PORT" \
    --cluster-port "$IMAP_CLUSTER" --limit "$LIMIT"
fi
if needed upstream; then
  start upstream "${JVM[@]}" -jar "$LT_JAR" serve --kind http-upstream --port "$UPSTREAM_PORT"
fi

HAVE_REDIS=0
if ! needed redis; then
  :
elif command -v redis-server >/dev/null; then
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
# nginx_conf DIR PORT [auth]: one worker, no access log, keep-alive to the upstream. With "auth",
# every request first asks the single member's /check (auth_request, keep-alive, HTTP/1.1), as
# deploy/nginx/tollgate.conf does, with two descriptors (two counters, as that file's two and the
# adapter's account and stage levels) on a domain whose limits are never reached (check.yaml): the
# work of a decision without refusals, as the adapter's open route has. (Until 2026-12-06 it sent
# one descriptor: half the counter work the adapter's check does.) A /check
# that fails or is refused makes auth_request answer 500: an error in the report (fail closed,
# like the adapter's config below).
nginx_conf() {
  local dir=$1 port=$2 auth=${3:-}
  mkdir -p "$dir/logs"
  {
    cat <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
# Each proxied request holds two connections (client, upstream), three with auth_request; the
# loader opens at most 64.
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  upstream app { server 127.0.0.1:$UPSTREAM_PORT; keepalive 64; }
EOF
    if [ -n "$auth" ]; then
      cat <<EOF
  upstream tollgate { server 127.0.0.1:$TG_HTTP; keepalive 64; }
  server {
    listen 127.0.0.1:$port;
    location / {
      auth_request /_tollgate;
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location = /_tollgate {
      internal;
      proxy_pass http://tollgate/check?domain=loadtest-check&descriptor=account:=loadtest&descriptor=stage:=prod;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 1s;
    }
  }
}
EOF
    else
      cat <<EOF
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
    fi
  } > "$dir/nginx.conf"
}
if ! needed nginx; then
  :
elif command -v nginx >/dev/null; then
  HAVE_NGINX=1
  nginx_conf "$WORK/nginx" "$NGINX_PORT"
  start nginx nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
  nginx_conf "$WORK/nginx-auth" "$NGINX_AUTH_PORT" auth
  start nginx-auth nginx -p "$WORK/nginx-auth" -c "$WORK/nginx-auth/nginx.conf"
fi

# The gateway adapter: one open route (no API key: the adapter then sends none, and the limiter
# evaluates the account and stage throttles of plans.yaml, both far above any rate here), so the
# single member is consulted on every request. Caching is off: every request reaches the upstream.
# fail_closed: a failed limiter call answers 503, an error in the report, never a silent pass.
# The access log is off, as nginx's is. GATEWAY_CMD, when set, starts another build instead: a
# command line with \$ADAPTER_PORT, \$ADAPTER_ADMIN_PORT, \$ADAPTER_CONFIG, \$UPSTREAM_URL and
# \$LIMITER_GRPC in its environment, answering GET \$ADAPTER_PATH.
ADAPTER_PATH=/prod/items
HAVE_ADAPTER=0
HAVE_BASE_ADAPTER=0
if needed gateway-adapter; then
  export ADAPTER_PORT ADAPTER_ADMIN_PORT ADAPTER_PATH ADAPTER_CONFIG=$WORK/adapter.yaml \
    UPSTREAM_URL=http://127.0.0.1:$UPSTREAM_PORT LIMITER_GRPC=127.0.0.1:$TG_GRPC
  cat > "$ADAPTER_CONFIG" <<EOF
api: loadtest
limiter: {failure_mode: fail_closed, deadline_ms: 500}
stages:
  - name: prod
    prefix: /prod
    cache: {enabled: false}
routes:
  - route: GET /items
    upstreams: [$UPSTREAM_URL]
EOF
  adapter_jvm() { # name: the JVM command line of one adapter
    ADAPTER_JVM=("${JVM[@]}")
    if [ "${ADAPTER_JFR:-0}" = 1 ]; then
      ADAPTER_JVM+=("-XX:StartFlightRecording=filename=$LOGS/$1.jfr,settings=profile,dumponexit=true")
    fi
  }
  if [ -n "${GATEWAY_CMD:-}" ]; then
    HAVE_ADAPTER=1
    start adapter bash -c "exec $GATEWAY_CMD"
  elif [ -f "$ADAPTER_JAR" ]; then
    HAVE_ADAPTER=1
    adapter_jvm adapter
    start adapter "${ADAPTER_JVM[@]}" -jar "$ADAPTER_JAR" --config "$ADAPTER_CONFIG" \
      --limiter "$LIMITER_GRPC" --port "$ADAPTER_PORT" --admin-port "$ADAPTER_ADMIN_PORT" \
      --access-log off
  else
    echo "warning: $ADAPTER_JAR missing and no GATEWAY_CMD: the adapter is skipped" >&2
  fi
  # Another build beside it (same config, same limiter, same upstream), for before/after in one run.
  if [ -n "${BASELINE_ADAPTER_JAR:-}" ]; then
    [ -f "$BASELINE_ADAPTER_JAR" ] || { echo "error: $BASELINE_ADAPTER_JAR not found" >&2; exit 2; }
    HAVE_BASE_ADAPTER=1
    adapter_jvm adapter-baseline
    start adapter-baseline "${ADAPTER_JVM[@]}" -jar "$BASELINE_ADAPTER_JAR" \
      --config "$ADAPTER_CONFIG" --limiter "$LIMITER_GRPC" --port "$BASE_ADAPTER_PORT" \
      --admin-port "$BASE_ADAPTER_ADMIN_PORT" --access-log off
  fi
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
if needed tollgate; then
  await tollgate --address "127.0.0.1:$TG_GRPC"
  await tollgate-check --target check --address "127.0.0.1:$TG_GRPC" --api-key-prefix "$KEY_PREFIX"
fi
if needed tollgate-2members; then
  await tollgate2a --address "127.0.0.1:$TG2A_GRPC"
  await tollgate2b --address "127.0.0.1:$TG2B_GRPC"
fi
if needed echo; then await echo --address "127.0.0.1:$ECHO_PORT"; fi
if needed echo-default; then await echo-default --address "127.0.0.1:$ECHO_DEFAULT_PORT"; fi
if needed bucket4j; then await bucket4j --address "127.0.0.1:$B4J_PORT"; fi
if needed imap-blocking; then await imap-blocking --address "127.0.0.1:$IMAP_PORT"; fi
if [ $HAVE_REDIS = 1 ]; then await redis --address "127.0.0.1:$REDIS_RLS_PORT"; fi
if needed upstream; then await upstream --target http --url "http://127.0.0.1:$UPSTREAM_PORT/"; fi
if [ $HAVE_NGINX = 1 ]; then
  await nginx --target http --url "http://127.0.0.1:$NGINX_PORT/"
  await nginx-auth --target http --url "http://127.0.0.1:$NGINX_AUTH_PORT/"
fi
# Ready means a request went through the adapter, the limiter and the upstream.
if [ $HAVE_ADAPTER = 1 ]; then
  await adapter --target http --url "http://127.0.0.1:$ADAPTER_PORT$ADAPTER_PATH"
fi
if [ $HAVE_BASE_ADAPTER = 1 ]; then
  await adapter-baseline --target http --url "http://127.0.0.1:$BASE_ADAPTER_PORT$ADAPTER_PATH"
fi
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

NGINX_PIDS="" NGINX_AUTH_PIDS=""
if [ $HAVE_NGINX = 1 ]; then
  NGINX_PIDS=$(echo "$PID_nginx" $(pgrep -P "$PID_nginx" || true) | tr ' ' ',')
  NGINX_AUTH_PIDS=$(echo "$PID_nginx_auth" $(pgrep -P "$PID_nginx_auth" || true) | tr ' ' ',')
fi

# --- Servers: name -> address and the processes whose CPU counts ------------------------------
declare -A ADDR CPU
if needed tollgate; then
  ADDR[tollgate]=127.0.0.1:$TG_GRPC;                CPU[tollgate]=$PID_tollgate
fi
if needed tollgate-2members; then
  ADDR[tollgate-2members]=127.0.0.1:$TG2A_GRPC,127.0.0.1:$TG2B_GRPC
  CPU[tollgate-2members]=$PID_tollgate2a,$PID_tollgate2b
fi
if needed echo; then ADDR[echo]=127.0.0.1:$ECHO_PORT; CPU[echo]=$PID_echo; fi
if needed echo-default; then
  ADDR[echo-default]=127.0.0.1:$ECHO_DEFAULT_PORT;  CPU[echo-default]=$PID_echo_default
fi
if needed bucket4j; then ADDR[bucket4j]=127.0.0.1:$B4J_PORT; CPU[bucket4j]=$PID_bucket4j; fi
if needed imap-blocking; then
  ADDR[imap-blocking]=127.0.0.1:$IMAP_PORT;         CPU[imap-blocking]=$PID_imap_blocking
fi
if [ $HAVE_REDIS = 1 ]; then
  ADDR[redis]=127.0.0.1:$REDIS_RLS_PORT;            CPU[redis]=$PID_redis,$PID_redis_server
fi
if needed upstream; then
  ADDR[upstream-direct]=http://127.0.0.1:$UPSTREAM_PORT/;  CPU[upstream-direct]=$PID_upstream
fi
if [ $HAVE_NGINX = 1 ]; then
  ADDR[nginx]=http://127.0.0.1:$NGINX_PORT/;         CPU[nginx]=$PID_upstream,$NGINX_PIDS
  # nginx asking the limiter: nginx, the upstream and the member answering /check.
  ADDR[nginx-auth]=http://127.0.0.1:$NGINX_AUTH_PORT/
  CPU[nginx-auth]=$PID_upstream,$NGINX_AUTH_PIDS,$PID_tollgate
fi
if [ $HAVE_ADAPTER = 1 ]; then
  ADDR[gateway-adapter]=http://127.0.0.1:$ADAPTER_PORT$ADAPTER_PATH
  # Everything a request through the adapter costs: the adapter, the upstream and the limiter
  # member it asks (idle otherwise while the HTTP scenarios run, so its CPU is the checks').
  CPU[gateway-adapter]=$PID_upstream,$PID_adapter,$PID_tollgate
fi
if [ $HAVE_BASE_ADAPTER = 1 ]; then
  ADDR[gateway-adapter-baseline]=http://127.0.0.1:$BASE_ADAPTER_PORT$ADAPTER_PATH
  CPU[gateway-adapter-baseline]=$PID_upstream,$PID_adapter_baseline,$PID_tollgate
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

heap_used_mib() { # pid -> MiB used after a full GC
  jcmd "$1" GC.run >/dev/null 2>&1 || true
  # G1 prints one "garbage-first heap total ..., used NK" line; Serial and Parallel one per
  # generation. Metaspace is not heap.
  jcmd "$1" GC.heap_info 2>/dev/null | awk '/(heap|generation) +total/ {
      for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K,?$/, "", v); sum += v } }
    END { printf "%.0f", sum / 1024 }'
}

CLOSED=(--mode closed --concurrency "$CONCURRENCY")
UNIFORM=(--keys "uniform:$KEYS")
S1_SERVERS=$(present tollgate echo echo-default bucket4j redis imap-blocking)
FIXED_SERVERS=$(present tollgate tollgate-2members echo echo-default bucket4j redis imap-blocking)
HTTP_SERVERS=$(present upstream-direct nginx nginx-auth gateway-adapter gateway-adapter-baseline)
[ "$QUICK" = 1 ] && FIXED_SERVERS=$(present tollgate tollgate-2members echo redis)

# The round-1 closed-loop run of a server (the two members' own scenario for tollgate-2members).
closed_file_of() {
  local sc=closed-1d-uniform
  [ "$1" = tollgate-2members ] && sc=closed-1d-2members
  ls "$RUNS"/*-"$sc-$1"-r1.json 2>/dev/null | head -1
}

# --- Soak: Tollgate alone, open loop at 70% of its maximum for SOAK_MINUTES ---------------------
# Issue 5: latency stays flat, heap after a full GC does not grow, and the counters map stays
# bounded (1 s windows over 100,000 uniform keys: a counter expires a second or two after its last
# use, so the map holds about rate x 2 s entries, never all keys, if expired counters are evicted).
map_entries() { # the single member's counter entries, from its Prometheus gauges
  curl -s --max-time 3 "http://127.0.0.1:$TG_HTTP/metrics" 2>/dev/null \
    | awk '/^ratelimit_counters_owned_entries[ {]/ { v = $2 } END { printf "%.0f", v + 0 }'
}
if [ "$SOAK" = 1 ]; then
  SOAK_KEYS=100000
  echo "== soak: measuring Tollgate's closed-loop maximum (25 s warm-up, 15 s measured)"
  run closed-1d-uniform "closed loop, 1 descriptor, uniform keys" tollgate 1 \
    "${CLOSED[@]}" --keys "uniform:$SOAK_KEYS" --warmup 25 --duration 15
  MAX_FILE=$(closed_file_of tollgate)
  [ -n "$MAX_FILE" ] || { echo "error: the maximum was not measured" >&2; exit 1; }
  SOAK_MAX=$(printf '%.0f' "$(throughput_of "$MAX_FILE")")
  SOAK_RATE=$(awk -v t="$SOAK_MAX" 'BEGIN { r = int(t * 0.7); if (r < 50) r = 50; print r }')
  echo "== soak: $SOAK_RATE req/s (70% of Tollgate's closed-loop maximum, $SOAK_MAX req/s) for $SOAK_MINUTES min"
  # A fresh client JVM sending thousands a second falls behind while it compiles; 30 s lets the
  # backlog of that start drain before the first minute is measured (10 s did not, here).
  SOAK_WARMUP=30
  SAMPLES=$WORK/map-samples.txt
  HEAP_START=$(heap_used_mib "$PID_tollgate")
  START_ENTRIES=$(map_entries)
  echo "start 0 $START_ENTRIES" > "$SAMPLES"
  echo "== soak: at start heap used after a full GC $HEAP_START MiB, counter entries $START_ENTRIES"
  SOAK_T0=$(date +%s.%N)
  # One sample 2 s before the end of every interval (the last one still under load).
  INTERVALS=$(( (SOAK_MINUTES * 60 + SOAK_INTERVAL - 1) / SOAK_INTERVAL ))
  ( for k in $(seq 1 "$INTERVALS"); do
      at=$(( SOAK_WARMUP + k * SOAK_INTERVAL - 2 ))
      [ "$at" -gt $(( SOAK_WARMUP + SOAK_MINUTES * 60 - 2 )) ] && at=$(( SOAK_WARMUP + SOAK_MINUTES * 60 - 2 ))
      wait_s=$(awk -v t0="$SOAK_T0" -v at="$at" -v now="$(date +%s.%N)" \
        'BEGIN { w = t0 + at - now; print (w > 0 ? w : 0) }')
      sleep "$wait_s"
      echo "load $(awk -v t0="$SOAK_T0" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - t0 }') $(map_entries)" >> "$SAMPLES"
    done ) &
  SAMPLER=$!
  PIDS+=($SAMPLER)
  run soak "open loop at 70% of the maximum ($SOAK_RATE req/s) for $SOAK_MINUTES min" tollgate 1 \
    --mode open --rate "$SOAK_RATE" --keys "uniform:$SOAK_KEYS" --warmup "$SOAK_WARMUP" \
    --duration $(( SOAK_MINUTES * 60 )) --interval-seconds "$SOAK_INTERVAL"
  grep '^interval' "$LOGS/run-$RUN_N.log" || true
  elapsed() { awk -v t0="$SOAK_T0" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - t0 }'; }
  echo "end $(elapsed) $(map_entries)" >> "$SAMPLES"
  kill "$SAMPLER" 2>/dev/null || true
  HEAP_END=$(heap_used_mib "$PID_tollgate")
  # Without load, every window ends within a second or two; wait (at most 60 s) until the map
  # has dropped to a tenth of its peak, sampling every 3 s.
  PEAK=$(awk '{ if ($3 > m) m = $3 } END { print m + 0 }' "$SAMPLES")
  for _ in $(seq 20); do
    sleep 3
    n=$(map_entries)
    echo "idle $(elapsed) $n" >> "$SAMPLES"
    [ "$n" -le $(( PEAK / 10 )) ] && break
  done
  echo "== soak: at end heap used after a full GC $HEAP_END MiB; counters map samples:"
  cat "$SAMPLES"
  SOAK_FILE=$(ls "$RUNS"/*-soak-tollgate-r1.json 2>/dev/null | head -1)
  [ -n "$SOAK_FILE" ] || { echo "error: the soak run failed" >&2; exit 1; }
  COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  HEADER="Soak: $(date -u +%Y-%m-%dT%H:%MZ), commit $COMMIT, $(nproc) cores, one member, heap $HEAP, limit $LIMIT/s per key (1 s windows). Closed-loop maximum $SOAK_MAX req/s (25 s warm-up, 15 s measured, C=$CONCURRENCY); soak at 70%: $SOAK_RATE req/s for $SOAK_MINUTES min."
  "${LT[@]}" soak-report --run "$SOAK_FILE" --map-samples "$SAMPLES" \
    --heap-start-mib "${HEAP_START:--1}" --heap-end-mib "${HEAP_END:--1}" \
    --interval-seconds "$SOAK_INTERVAL" --header "$HEADER" --out "$OUT" --fail-on-errors \
    > "$LOGS/soak-report.log" 2>&1 || FAILED=1
  sed -n '/^## Verdict/,/^Overall/p' "$OUT/report.md"
  echo "== done in $(( $(date +%s) - T0 )) s; report: $OUT/report.md, report.json"
  if [ "$FAILED" != 0 ]; then
    echo "FAILED: a run failed or reported errors (see above and $LOGS)" >&2
    exit 1
  fi
  exit 0
fi

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS"
  # 1, 2: closed loop, 1 descriptor, uniform keys: Tollgate against every baseline.
  if selected closed-1d-uniform; then
    for s in $(rotate "$round" $S1_SERVERS); do
      run closed-1d-uniform "closed loop, 1 descriptor, uniform keys" "$s" "$round" \
        "${CLOSED[@]}" "${UNIFORM[@]}"
    done
  fi
  # 5: two members, the client spreading calls over both. Before the fixed-rate runs: its round-1
  # maximum is one of those the fixed rate is chosen from.
  if selected closed-1d-2members; then
    run closed-1d-2members "closed loop, two members on this machine" tollgate-2members "$round" \
      "${CLOSED[@]}" "${UNIFORM[@]}"
  fi
  # CPU per decision at one fixed rate for every server. Half of the slowest closed-loop maximum
  # among them (round 1): every server then keeps up, so no queue grows and the CPU figures
  # compare like with like (half of echo's maximum was above what most servers sustain here).
  if selected fixed-rate; then
    if [ -z "$CPU_RATE" ]; then
      SLOWEST="" SLOWEST_MAX=""
      for s in $FIXED_SERVERS; do
        f=$(closed_file_of "$s")
        [ -n "$f" ] || continue
        t=$(throughput_of "$f")
        if [ -z "$SLOWEST" ] || awk -v a="$t" -v b="$SLOWEST_MAX" 'BEGIN { exit !(a < b) }'; then
          SLOWEST=$s SLOWEST_MAX=$t
        fi
      done
      if [ -z "$SLOWEST" ]; then
        echo "error: no closed-loop maximum to choose the fixed rate from (use --cpu-rate)" >&2
        exit 1
      fi
      CPU_RATE=$(half_of "$SLOWEST_MAX")
      echo "== fixed rate for CPU per decision: $CPU_RATE req/s (half of the slowest closed-loop maximum among $(echo $FIXED_SERVERS | tr ' ' ','): $SLOWEST, $(printf '%.0f' "$SLOWEST_MAX") req/s)"
    elif [ "$round" = 1 ]; then
      echo "== fixed rate for CPU per decision: $CPU_RATE req/s (given)"
    fi
    for s in $(rotate "$round" $FIXED_SERVERS); do
      run fixed-rate "open loop at $CPU_RATE req/s: CPU per decision and latency" "$s" "$round" \
        --mode open --rate "$CPU_RATE" "${UNIFORM[@]}"
    done
  fi
  # 6: latency in open loop at half of Tollgate's own maximum (round 1), Tollgate against echo.
  if selected open-half-tollgate; then
    if [ -z "${HALF_TG:-}" ]; then
      TG_FILE=$(closed_file_of tollgate)
      HALF_TG=$(half_of "$(throughput_of "$TG_FILE")")
    fi
    for s in $(rotate "$round" tollgate echo); do
      run open-half-tollgate "open loop at half of Tollgate's maximum ($HALF_TG req/s)" "$s" \
        "$round" --mode open --rate "$HALF_TG" "${UNIFORM[@]}"
    done
  fi
  # 3: four descriptors per request.
  if selected closed-4d-uniform; then
    for s in $(rotate "$round" tollgate echo); do
      run closed-4d-uniform "closed loop, 4 descriptors, uniform keys" "$s" "$round" \
        "${CLOSED[@]}" "${UNIFORM[@]}" --descriptors 4
    done
  fi
  # 4: hot keys.
  if selected closed-1d-zipf; then
    run closed-1d-zipf "closed loop, 1 descriptor, Zipf s=1.1" tollgate "$round" \
      "${CLOSED[@]}" --keys "zipf:$KEYS:1.1"
  fi
  if selected closed-1d-single; then
    run closed-1d-single "closed loop, 1 descriptor, one key for everything" tollgate "$round" \
      "${CLOSED[@]}" --keys single
  fi
  # Tollgate's own check API (usage plans), over its declared keys.
  if selected check-api; then
    run check-api "closed loop, tollgate.v1.CheckService/Check, $CHECK_KEYS keys in a plan" \
      tollgate "$round" --target check --api-key-prefix "$KEY_PREFIX" "${CLOSED[@]}" \
      --keys "uniform:$CHECK_KEYS"
  fi
  # 8: HTTP: the upstream directly, through nginx, through the gateway adapter. The HTTP target
  # opens at most 64 connections (--connections), in closed and open loop alike.
  if selected http-proxy; then
    for s in $(rotate "$round" $HTTP_SERVERS); do
      run http-proxy "closed loop over HTTP: upstream directly, via nginx, via the adapter" "$s" \
        "$round" "${CLOSED[@]}" --keys "uniform:$KEYS"
    done
  fi
  # 8: added latency at half load, every HTTP server at one rate: half of the slowest closed-loop
  # maximum (round 1) among the servers that ask the limiter before each request (nginx-auth and
  # the adapters), so that each of them runs at half load or below and keeps up. Half of the
  # direct upstream's maximum was above what either could do with a check per request here.
  if selected http-half-load; then
    if [ -z "$HTTP_RATE" ]; then
      SLOWEST="" SLOWEST_MAX=""
      CHECKING=$(present nginx-auth gateway-adapter gateway-adapter-baseline)
      for s in ${CHECKING:-upstream-direct}; do
        f=$(ls "$RUNS"/*-http-proxy-"$s"-r1.json 2>/dev/null | head -1) || true
        [ -n "$f" ] || continue
        t=$(throughput_of "$f")
        if [ -z "$SLOWEST" ] || awk -v a="$t" -v b="$SLOWEST_MAX" 'BEGIN { exit !(a < b) }'; then
          SLOWEST=$s SLOWEST_MAX=$t
        fi
      done
      if [ -z "$SLOWEST" ]; then
        echo "error: no closed-loop HTTP maximum to choose the half-load rate from (use --http-rate)" >&2
        exit 1
      fi
      HTTP_RATE=$(half_of "$SLOWEST_MAX")
      HTTP_RATE_WHY="half of $SLOWEST's closed-loop maximum, $(printf '%.0f' "$SLOWEST_MAX") req/s"
      echo "== HTTP half load: $HTTP_RATE req/s ($HTTP_RATE_WHY, the slowest of $(echo ${CHECKING:-upstream-direct} | tr ' ' ','))"
    fi
    for s in $(rotate "$round" $HTTP_SERVERS); do
      run http-half-load "open loop over HTTP at $HTTP_RATE req/s (${HTTP_RATE_WHY:-given})" \
        "$s" "$round" --mode open --rate "$HTTP_RATE" --keys "uniform:$KEYS"
    done
  fi
done

# --- 7: memory: MEMORY_KEYS active keys in the two-member cluster, heap after a full GC --------
MEMORY=""
if ! selected memory; then
  MEMORY="Memory (target 7): not measured (not selected)."
elif command -v jcmd >/dev/null; then
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
BASE_COMPARE=()
if [ $HAVE_BASE_ADAPTER = 1 ]; then
  BASE_COMPARE=(
    --compare "adapter vs baseline adapter|throughput|http-proxy/gateway-adapter|http-proxy/gateway-adapter-baseline"
    --compare "baseline adapter vs nginx auth_request|throughput|http-proxy/gateway-adapter-baseline|http-proxy/nginx-auth"
    --compare "baseline adapter CPU/request vs nginx auth_request, half load|cpu|http-half-load/gateway-adapter-baseline|http-half-load/nginx-auth")
fi
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
  --compare "adapter vs nginx auth_request (target >= 1.0)|throughput|http-proxy/gateway-adapter|http-proxy/nginx-auth" \
  --compare "adapter CPU/request vs nginx auth_request, half load (target <= 1.0)|cpu|http-half-load/gateway-adapter|http-half-load/nginx-auth" \
  --compare "adapter p99 at half load vs nginx auth_request (target <= 1.0)|p99|http-half-load/gateway-adapter|http-half-load/nginx-auth" \
  "${BASE_COMPARE[@]}" \
  || FAILED=1
echo "== done in $(( $(date +%s) - T0 )) s; report: $OUT/report.md, report.html, report.json"
if [ "$FAILED" != 0 ]; then
  echo "FAILED: a run failed or reported errors (see above and $LOGS)" >&2
  exit 1
fi
