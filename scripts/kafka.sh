#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, no ZooKeeper) for development, the
# integration tests and the demo. Jars come from Maven Central via
# scripts/kafka/pom.xml, so the only prerequisites are Java 17+ and Maven.
#
#   scripts/kafka.sh fetch | start | stop | status | reset
#   scripts/kafka.sh tool <MainClass> [args...]     run any Kafka CLI class
#   scripts/kafka.sh consumer-groups [args...]      ConsumerGroupCommand
#   scripts/kafka.sh topics [args...]               TopicCommand
#
# Environment: AMH_KAFKA_VERSION (4.1.1), AMH_KAFKA_PORT (9092),
# AMH_KAFKA_CONTROLLER_PORT (9093), AMH_KAFKA_HEAP_OPTS (-Xmx512m -Xms256m),
# AMH_KAFKA_START_TIMEOUT seconds (90), AMH_KAFKA_DIR (var/kafka: data, logs and pid
# file; a second broker beside the first needs its own, and its own ports).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${AMH_KAFKA_VERSION:-4.1.1}"
HOST=127.0.0.1
PORT="${AMH_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${AMH_KAFKA_CONTROLLER_PORT:-9093}"
HEAP_OPTS="${AMH_KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
START_TIMEOUT="${AMH_KAFKA_START_TIMEOUT:-90}"

POM="$ROOT/scripts/kafka/pom.xml"
CACHE_DIR="$ROOT/.cache/kafka/$VERSION"
LIBS="$CACHE_DIR/libs"
# Written only after a complete copy; holds the pom's hash so editing the pom
# (e.g. adding a dependency) invalidates an older cache.
FETCHED_MARKER="$CACHE_DIR/.fetched"
SERVER_LOG4J="$CACHE_DIR/log4j2-server.xml"
TOOLS_LOG4J="$CACHE_DIR/log4j2-tools.xml"

VAR_DIR="${AMH_KAFKA_DIR:-$ROOT/var/kafka}"
DATA_DIR="$VAR_DIR/data"
PROPS="$VAR_DIR/server.properties"
PID_FILE="$VAR_DIR/kafka.pid"
SERVER_LOG="$VAR_DIR/server.log"
# JVM stdout/stderr: crashes before log4j is up (bad classpath, OOM) land here.
CONSOLE_LOG="$VAR_DIR/kafka.out"

BOOTSTRAP="$HOST:$PORT"
MAIN_CLASS=kafka.Kafka
CONSUMER_GROUPS_CLASS=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
TOPICS_CLASS=org.apache.kafka.tools.TopicCommand
STORAGE_CLASS=kafka.tools.StorageTool

say() { echo "kafka.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

require() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"
}

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

is_fetched() {
  [[ -f "$FETCHED_MARKER" && "$(cat "$FETCHED_MARKER")" == "$(pom_hash)" ]]
}

write_log4j_configs() {
  # Broker: INFO to var/kafka/server.log (kafka.logs.dir is set on the JVM
  # command line so this cached file works wherever the repo lives).
  cat >"$SERVER_LOG4J" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <RollingFile name="server" fileName="${sys:kafka.logs.dir}/server.log"
                 filePattern="${sys:kafka.logs.dir}/server.log.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <SizeBasedTriggeringPolicy size="50 MB"/>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="server"/></Root>
  </Loggers>
</Configuration>
EOF
  # CLI tools: only warnings, on stderr, so their stdout stays parseable.
  cat >"$TOOLS_LOG4J" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <Console name="stderr" target="SYSTEM_ERR">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="stderr"/></Root>
  </Loggers>
</Configuration>
EOF
}

cmd_fetch() {
  if is_fetched; then
    write_log4j_configs
    say "Kafka $VERSION already in ${LIBS#"$ROOT"/}"
    return 0
  fi
  require mvn "needed once to download Kafka from Maven Central"
  say "fetching Kafka $VERSION jars with Maven into ${LIBS#"$ROOT"/} ..."
  # Redo from scratch: a previous run may have died half-way.
  rm -rf "$LIBS" "$FETCHED_MARKER"
  mkdir -p "$LIBS"
  # sed: Maven 3.8 prints stray ANSI resets even in batch/quiet mode.
  mvn -q -B -Dstyle.color=never -f "$POM" \
    -Dkafka.version="$VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS" \
    </dev/null 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' >&2 \
    || die "Maven could not fetch Kafka $VERSION (see output above)"
  [[ -n "$(ls "$LIBS"/kafka_2.13-*.jar 2>/dev/null)" ]] || die "no kafka_2.13 jar after Maven copy"
  write_log4j_configs
  pom_hash >"$FETCHED_MARKER"
  say "fetched $(ls "$LIBS" | wc -l) jars"
}

ensure_fetched() {
  if is_fetched; then write_log4j_configs; else cmd_fetch; fi
}

require_java() {
  require java "Kafka 4.x needs Java 17+"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${major%%.*}" -ge 17 ]] 2>/dev/null || die "Java 17+ required, found ${major:-unknown}"
}

# Runs a Kafka CLI class on the cached classpath (small heap, quiet logging).
run_tool() {
  local class="$1"; shift
  ensure_fetched
  require_java
  exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$TOOLS_LOG4J" \
    -cp "$LIBS/*" "$class" "$@"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Prints the broker pid if our pid file points at a live Kafka JVM.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse after a reboot or crash.
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *" $MAIN_CLASS "* ]] || return 1
  echo "$pid"
}

# Serialises start/stop/reset (e.g. two test runs starting at once).
take_lock() {
  mkdir -p "$VAR_DIR"
  exec 9>"$VAR_DIR/.lock"
  require flock "util-linux"
  flock 9
}

write_server_properties() {
  cat >"$PROPS" <<EOF
# Generated by scripts/kafka.sh on every start; edit the script, not this file.
# Single KRaft node that is both broker and controller, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA_DIR

# One replica of everything; internal topics must not wait for more.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
# Fewer __consumer_offsets partitions: first group join is faster on 2 cores.
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests create their own topics explicitly and want groups to form at once.
num.partitions=3
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0

# Compacted topics are used by the service.
log.cleaner.enable=true
EOF
}

random_cluster_id() {
  # 16 random bytes, URL-safe base64 without padding: Kafka's Uuid format.
  # Kafka avoids ids starting with '-' (they look like CLI flags); so do we.
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    [[ "$id" != -* ]] && { echo "$id"; return; }
  done
}

format_storage_once() {
  [[ -f "$DATA_DIR/meta.properties" ]] && return 0
  local cluster_id
  cluster_id="$(random_cluster_id)"
  say "formatting storage (cluster id $cluster_id)"
  # Static controller.quorum.voters, so no --standalone here (that flag is for
  # the dynamic quorum configured with controller.quorum.bootstrap.servers).
  (run_tool "$STORAGE_CLASS" format --config "$PROPS" --cluster-id "$cluster_id" --ignore-formatted) >&2 9>&-
}

# Shows what this start attempt logged (older runs' lines would mislead).
print_startup_failure() {
  local log_offset="$1" this_run
  this_run="$(tail -c +"$((log_offset + 1))" "$SERVER_LOG" 2>/dev/null | tail -n 40 || true)"
  say "broker did not start; last lines this run wrote to ${SERVER_LOG#"$ROOT"/}:"
  echo "${this_run:-(nothing)}" >&2
  if [[ -s "$CONSOLE_LOG" ]]; then
    say "JVM console output (${CONSOLE_LOG#"$ROOT"/}):"
    tail -n 20 "$CONSOLE_LOG" >&2
  fi
}

# Ready = port accepts connections AND this run's log says the server started
# (the port opens a little before the broker has finished joining the quorum).
wait_until_ready() {
  local pid="$1" log_offset="$2" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      print_startup_failure "$log_offset"
      return 1
    fi
    # No `grep -q` here: it exits at the first match, tail gets SIGPIPE and
    # pipefail turns the match into a failure once the log is big enough.
    if port_open "$PORT" &&
      tail -c +"$((log_offset + 1))" "$SERVER_LOG" 2>/dev/null | grep -F 'Kafka Server started' >/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  print_startup_failure "$log_offset"
  say "gave up after ${START_TIMEOUT}s; broker pid $pid left running (scripts/kafka.sh stop)"
  return 1
}

# On a fresh broker __consumer_offsets only gets created by the first
# FindCoordinator, and the first JoinGroup then fails with
# GROUP_LOAD_IN_PROGRESS (kafkajs crashes and restarts the consumer). Describing
# a dummy group creates the topic and waits until its partitions are loaded.
# (ConsumerGroupCommand exits 0 even though the group does not exist.)
warm_up_group_coordinator() {
  [[ -d "$DATA_DIR/__consumer_offsets-0" ]] && return 0
  say "warming up the group coordinator (first start only)"
  (run_tool "$CONSUMER_GROUPS_CLASS" --bootstrap-server "$BOOTSTRAP" --describe --group amh-warmup) \
    >/dev/null 2>&1 9>&- || true
  [[ -d "$DATA_DIR/__consumer_offsets-0" ]] || say "warning: __consumer_offsets not created yet; first group join may be retried"
}

cmd_start() {
  ensure_fetched
  require_java
  take_lock
  local pid
  if pid="$(running_pid)"; then
    if port_open "$PORT"; then
      say "already running (pid $pid)"
      echo "$BOOTSTRAP"
      return 0
    fi
    die "pid $pid is alive but $BOOTSTRAP is closed; try: scripts/kafka.sh stop"
  fi
  port_open "$PORT" && die "$BOOTSTRAP is already taken by another process (set AMH_KAFKA_PORT)"
  port_open "$CONTROLLER_PORT" && die "$HOST:$CONTROLLER_PORT is taken (set AMH_KAFKA_CONTROLLER_PORT)"

  mkdir -p "$DATA_DIR"
  write_server_properties
  format_storage_once

  local log_offset=0
  [[ -f "$SERVER_LOG" ]] && log_offset="$(stat -c %s "$SERVER_LOG")"
  say "starting Kafka $VERSION on $BOOTSTRAP ..."
  local started_at=$SECONDS
  # setsid + nohup: the broker outlives this script and the terminal/test
  # runner that called it; 9>&- so it does not inherit (and hold) our lock.
  # shellcheck disable=SC2086 # HEAP_OPTS is a list of JVM flags
  setsid nohup java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dkafka.logs.dir="$VAR_DIR" -Dlog4j2.configurationFile="$SERVER_LOG4J" \
    -cp "$LIBS/*" "$MAIN_CLASS" "$PROPS" \
    </dev/null >"$CONSOLE_LOG" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"

  wait_until_ready "$pid" "$log_offset" || exit 1
  warm_up_group_coordinator
  say "ready after $((SECONDS - started_at))s (pid $pid, log ${SERVER_LOG#"$ROOT"/})"
  echo "$BOOTSTRAP"
}

stop_locked() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  say "stopping pid $pid ..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "still alive after 30s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  say "stopped"
}

cmd_stop() { take_lock; stop_locked; }

cmd_status() {
  local pid
  if ! pid="$(running_pid)"; then
    echo "not running"
    return 1
  fi
  if ! port_open "$PORT"; then
    echo "starting or stuck (pid $pid, $BOOTSTRAP closed)"
    return 1
  fi
  echo "running (pid $pid) on $BOOTSTRAP"
}

cmd_reset() {
  take_lock
  stop_locked
  # Drop our lock fd before deleting the directory that holds the lock file.
  exec 9>&-
  rm -rf "$VAR_DIR"
  say "deleted ${VAR_DIR#"$ROOT"/}"
}

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd="${1:-}"
  (($#)) && shift
  case "$cmd" in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    tool)
      (($#)) || die "usage: scripts/kafka.sh tool <MainClass> [args...]"
      run_tool "$@" ;;
    consumer-groups) run_tool "$CONSUMER_GROUPS_CLASS" "$@" ;;
    topics) run_tool "$TOPICS_CLASS" "$@" ;;
    *) usage ;;
  esac
}

main "$@"
