#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, no ZooKeeper) for development, the
# integration tests and the demo. Jars come from Maven Central via
# scripts/kafka/pom.xml, so the only prerequisites are Java 17+ and Maven.
#
#   scripts/kafka.sh fetch | start [--secure] | stop | status | reset
#   scripts/kafka.sh tool <MainClass> [args...]     run any Kafka CLI class
#   scripts/kafka.sh consumer-groups [args...]      ConsumerGroupCommand
#   scripts/kafka.sh topics [args...]               TopicCommand
#
# Environment: AMH_KAFKA_VERSION (4.1.1), AMH_KAFKA_PORT (9092),
# AMH_KAFKA_CONTROLLER_PORT (9093), AMH_KAFKA_HEAP_OPTS (-Xmx512m -Xms256m),
# AMH_KAFKA_START_TIMEOUT seconds (90), AMH_KAFKA_DIR (var/kafka: data, logs and pid
# file; a second broker beside the first needs its own, and its own ports).
#
# Secure broker: `start --secure` or AMH_KAFKA_SECURITY=sasl_ssl (default plaintext).
# Listeners: SASL_SSL on AMH_KAFKA_PORT (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN),
# SSL with a required client certificate on AMH_KAFKA_SSL_PORT (port + 1), the
# controller stays PLAINTEXT. The first secure start writes into <dir>/tls/ a CA
# (ca.crt), the broker's key and certificate (SAN IP:127.0.0.1, DNS:localhost),
# a client certificate (client.crt, client.key encrypted with client.key.pass),
# and user AMH_KAFKA_SASL_USER (amh) with password AMH_KAFKA_SASL_PASSWORD (else
# random) in <dir>/tls/sasl.password; <dir>/client.properties is for Kafka's CLI
# tools (--command-config). A data dir keeps the mode it was formatted with.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${AMH_KAFKA_VERSION:-4.1.1}"
HOST=127.0.0.1
PORT="${AMH_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${AMH_KAFKA_CONTROLLER_PORT:-9093}"
HEAP_OPTS="${AMH_KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
START_TIMEOUT="${AMH_KAFKA_START_TIMEOUT:-90}"
SECURITY="${AMH_KAFKA_SECURITY:-plaintext}"
SSL_PORT="${AMH_KAFKA_SSL_PORT:-$((PORT + 1))}"
SASL_USER="${AMH_KAFKA_SASL_USER:-amh}"

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
# Secure mode only: keys, certificates and the SASL password; the mode the data dir was formatted with.
TLS_DIR="$VAR_DIR/tls"
SASL_PASSWORD_FILE="$TLS_DIR/sasl.password"
CLIENT_PROPS="$VAR_DIR/client.properties"
SECURITY_MARKER="$VAR_DIR/.security"

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
  if [[ "$SECURITY" == sasl_ssl ]]; then
    write_secure_listeners >"$PROPS"
  else
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
EOF
  fi
  cat >>"$PROPS" <<EOF
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
# The cleaner allocates its dedupe buffer (default 128 MiB) at start-up as one
# array: with the small heaps used here (256 MiB for the test's secure broker)
# G1 could not always find that much contiguous space and the broker died with
# OutOfMemoryError while starting. 16 MiB still dedupes ~700k keys per pass.
log.cleaner.dedupe.buffer.size=16777216
EOF
}

# --- Secure mode (AMH_KAFKA_SECURITY=sasl_ssl or `start --secure`) ----------

# The SASL password: AMH_KAFKA_SASL_PASSWORD, else the one generated at the first secure start.
sasl_password() {
  if [[ ! -s "$SASL_PASSWORD_FILE" ]]; then
    mkdir -p "$TLS_DIR"
    (umask 077; printf '%s' "${AMH_KAFKA_SASL_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}" >"$SASL_PASSWORD_FILE")
  fi
  cat "$SASL_PASSWORD_FILE"
}

# A CA, the broker's key + certificate (one PEM, Kafka's PEM keystore) and a client certificate
# whose key is encrypted with a passphrase. Made once: clients keep trusting the CA across restarts.
generate_tls_once() {
  [[ -s "$TLS_DIR/broker.pem" && -s "$TLS_DIR/client.key" ]] && return 0
  require openssl "needed to generate the secure broker's certificates"
  say "generating a CA, broker and client certificates in ${TLS_DIR#"$ROOT"/}"
  mkdir -p "$TLS_DIR"
  chmod 700 "$TLS_DIR"
  local t="$TLS_DIR"
  (
    set -e
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 825 -subj "/CN=amh test CA" \
      -keyout "$t/ca.key" -out "$t/ca.crt" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' >"$t/broker.ext"
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" -keyout "$t/broker.key" -out "$t/broker.csr"
    openssl x509 -req -sha256 -days 825 -in "$t/broker.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
      -extfile "$t/broker.ext" -out "$t/broker.crt"
    cat "$t/broker.key" "$t/broker.crt" "$t/ca.crt" >"$t/broker.pem"
    printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' >"$t/client.ext"
    head -c 18 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n' >"$t/client.key.pass"
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$SASL_USER" -keyout "$t/client.plain.key" -out "$t/client.csr"
    openssl x509 -req -sha256 -days 825 -in "$t/client.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
      -extfile "$t/client.ext" -out "$t/client.crt"
    openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$t/client.plain.key" -passout "file:$t/client.key.pass" -out "$t/client.key"
    rm -f "$t/client.plain.key" "$t"/*.csr "$t"/*.ext
    # Readable by the user's tests and clients; the keys stay private.
    chmod 644 "$t/ca.crt" "$t/broker.crt" "$t/client.crt"
  ) >/dev/null 2>&1 || die "openssl could not generate the certificates in $TLS_DIR"
}

write_secure_listeners() {
  local password
  password="$(sasl_password)"
  cat <<EOF
# Generated by scripts/kafka.sh on every start; edit the script, not this file.
# Single KRaft node that is both broker and controller, loopback only.
# Secure mode: SASL_SSL (SCRAM-SHA-256/512, PLAIN) and SSL (client certificate required).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=SASL_SSL://$HOST:$PORT,SSL://$HOST:$SSL_PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=SASL_SSL://$HOST:$PORT,SSL://$HOST:$SSL_PORT
listener.security.protocol.map=SASL_SSL:SASL_SSL,SSL:SSL,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SSL
ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.crt
listener.name.ssl.ssl.client.auth=required
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER="$password";
EOF
}

# For Kafka's CLI tools: `scripts/kafka.sh topics --bootstrap-server 127.0.0.1:<port> --command-config <dir>/client.properties ...`
write_client_properties() {
  local password
  password="$(sasl_password)"
  (umask 077; cat >"$CLIENT_PROPS" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-256
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$SASL_USER" password="$password";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.crt
EOF
  )
}

# SCRAM credentials live in the cluster metadata: they are added when storage is formatted.
scram_format_args() {
  [[ "$SECURITY" == sasl_ssl ]] || return 0
  local password
  password="$(sasl_password)"
  printf '%s\n' --add-scram "SCRAM-SHA-256=[name=$SASL_USER,password=$password]" \
    --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$password]"
}

# A data dir formatted in one mode cannot start in the other (SCRAM users are set at format time).
check_security_mode() {
  case "$SECURITY" in plaintext | sasl_ssl) ;; *) die "AMH_KAFKA_SECURITY must be plaintext or sasl_ssl, got '$SECURITY'" ;; esac
  [[ -f "$DATA_DIR/meta.properties" ]] || return 0
  local formatted=plaintext
  [[ -f "$SECURITY_MARKER" ]] && formatted="$(cat "$SECURITY_MARKER")"
  [[ "$formatted" == "$SECURITY" ]] ||
    die "${VAR_DIR#"$ROOT"/} was formatted for $formatted, not $SECURITY; use another AMH_KAFKA_DIR or reset it"
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
  local scram=()
  mapfile -t scram < <(scram_format_args)
  (run_tool "$STORAGE_CLASS" format --config "$PROPS" --cluster-id "$cluster_id" --ignore-formatted "${scram[@]}") >&2 9>&-
  echo "$SECURITY" >"$SECURITY_MARKER"
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
  local secure=()
  [[ "$SECURITY" == sasl_ssl ]] && secure=(--command-config "$CLIENT_PROPS")
  (run_tool "$CONSUMER_GROUPS_CLASS" --bootstrap-server "$BOOTSTRAP" "${secure[@]}" --describe --group amh-warmup) \
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
  check_security_mode
  if [[ "$SECURITY" == sasl_ssl ]]; then
    port_open "$SSL_PORT" && die "$HOST:$SSL_PORT is taken (set AMH_KAFKA_SSL_PORT)"
    generate_tls_once
    write_client_properties
  fi

  mkdir -p "$DATA_DIR"
  write_server_properties
  format_storage_once

  local log_offset=0
  [[ -f "$SERVER_LOG" ]] && log_offset="$(stat -c %s "$SERVER_LOG")"
  if [[ "$SECURITY" == sasl_ssl ]]; then
    say "starting Kafka $VERSION with SASL_SSL on $BOOTSTRAP and SSL on $HOST:$SSL_PORT ..."
  else
    say "starting Kafka $VERSION on $BOOTSTRAP ..."
  fi
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
  sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd="${1:-}"
  (($#)) && shift
  case "$cmd" in
    fetch) cmd_fetch ;;
    start)
      case "${1:-}" in
        --secure) SECURITY=sasl_ssl ;;
        "") ;;
        *) die "usage: scripts/kafka.sh start [--secure]" ;;
      esac
      cmd_start ;;
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
