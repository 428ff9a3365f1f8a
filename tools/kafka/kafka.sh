#!/usr/bin/env bash
# kafka.sh — a real single-node Apache Kafka broker (KRaft, combined
# broker+controller) on 127.0.0.1 for libsecdet's Kafka tests. No Docker: the
# jars come from Maven Central (tools/kafka/pom.xml) and run on the machine's
# JDK; kcat checks that the broker answers.
#
# Usage:
#   kafka.sh fetch
#       Copies the broker, the admin tools and a log4j binding into
#       ${SECDET_KAFKA_HOME:-$HOME/.cache/secdet/kafka-<version>}/libs with
#       `mvn dependency:copy-dependencies`. A stamp file (holding the pom's
#       checksum) makes a second run a no-op. Prints one line on success.
#   kafka.sh start DIR [PORT]
#       Writes DIR/server.properties (PLAINTEXT on 127.0.0.1:PORT, controller
#       on PORT+1, data in DIR/data), formats the storage the first time only,
#       starts the JVM in the background (log: DIR/kafka.log, pid: DIR/kafka.pid)
#       and waits up to 90 s until `kcat -L` sees the broker. PORT defaults to
#       the one the previous start on DIR used (DIR/port). Starting again on
#       the same DIR after `stop` keeps the topics and their messages.
#       Exits non-zero with the log's tail when the broker does not come up.
#   kafka.sh stop DIR
#       SIGTERM, up to 30 s for a clean shutdown, then SIGKILL. No-op when
#       the broker is not running.
#   kafka.sh topic DIR-or-PORT NAME PARTITIONS [compact|delete] [KEY=VALUE...]
#       Creates a topic (replication factor 1; cleanup.policy=compact when
#       asked; KEY=VALUE are more topic configs) and waits up to 30 s until
#       every partition has a leader. An existing topic is left as it is.
#
# Environment: SECDET_KAFKA_VERSION (default 3.9.1: librdkafka 2.0.2 speaks
# the protocol versions a 3.x broker still accepts), SECDET_KAFKA_HOME.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSION=${SECDET_KAFKA_VERSION:-3.9.1}
KHOME=${SECDET_KAFKA_HOME:-$HOME/.cache/secdet/kafka-$VERSION}
LIBS=$KHOME/libs
STAMP=$KHOME/.fetched
TOOLS_LOG4J=$KHOME/tools-log4j.properties

die() { echo "kafka.sh: $*" >&2; exit 1; }

pom_sum() { { cat "$HERE/pom.xml"; echo "$VERSION"; } | md5sum | cut -d' ' -f1; }

# Log4j (1.x, reload4j) for the short-lived tools: warnings to stderr only.
write_tools_log4j() {
    [[ -f $TOOLS_LOG4J ]] && return 0
    cat >"$TOOLS_LOG4J.tmp" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
    mv "$TOOLS_LOG4J.tmp" "$TOOLS_LOG4J"
}

cmd_fetch() {
    local sum
    sum=$(pom_sum)
    mkdir -p "$KHOME"
    # One fetch at a time (parallel test runs share the cache).
    exec 9>"$KHOME/.lock"
    flock -w 600 9 || die "fetch: could not lock $KHOME/.lock"
    if [[ -f $STAMP && $(cat "$STAMP") == "$sum" && -d $LIBS ]]; then
        write_tools_log4j
        echo "kafka $VERSION: jars in $LIBS"
        return 0
    fi
    command -v mvn >/dev/null || die "fetch: mvn not found"
    rm -rf "$LIBS.tmp" "$STAMP"
    local log=$KHOME/fetch.log
    if ! mvn -q -B -f "$HERE/pom.xml" -Dkafka.version="$VERSION" \
            dependency:copy-dependencies -DoutputDirectory="$LIBS.tmp" >"$log" 2>&1 </dev/null; then
        tail -n 30 "$log" >&2
        die "fetch: mvn failed (log: $log)"
    fi
    ls "$LIBS.tmp"/kafka_2.13-"$VERSION".jar "$LIBS.tmp"/kafka-tools-"$VERSION".jar >/dev/null 2>&1 ||
        die "fetch: kafka $VERSION jars missing after mvn (log: $log)"
    rm -rf "$LIBS"
    mv "$LIBS.tmp" "$LIBS"
    write_tools_log4j
    echo "$sum" >"$STAMP"
    echo "kafka $VERSION: fetched $(ls "$LIBS" | wc -l) jars into $LIBS"
}

need_libs() {
    if [[ ! -f $STAMP || ! -f $TOOLS_LOG4J ]]; then
        (cmd_fetch) >/dev/null # a subshell: its lock fd must not reach the broker
    fi
}

# java for a short-lived tool: small heap, quick start.
tool_java() {
    java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$TOOLS_LOG4J" -cp "$LIBS/*" "$@" </dev/null
}

# A Kafka Uuid: 16 random bytes, base64url without padding, not starting with '-'.
cluster_id() {
    local id
    while :; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
        [[ $id != -* ]] && break
    done
    echo "$id"
}

# The pid in DIR/kafka.pid when that process is this DIR's broker.
running_pid() {
    local dir=$1 pid
    [[ -f $dir/kafka.pid ]] || return 1
    pid=$(cat "$dir/kafka.pid")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $dir/server.properties" || return 1
    echo "$pid"
}

broker_up() {
    timeout 10 kcat -L -b "127.0.0.1:$1" -m 3 2>/dev/null | grep -q ' 1 brokers:'
}

log_tail() {
    local dir=$1
    echo "---- errors in $dir/kafka.log" >&2
    grep -E '^\[[^]]*\] (ERROR|FATAL)' "$dir/kafka.log" 2>/dev/null | tail -n 5 | cut -c1-400 >&2 || true
    echo "---- tail of $dir/kafka.log" >&2
    tail -n 40 "$dir/kafka.log" >&2 2>/dev/null || true
    echo "---- tail of $dir/kafka.out" >&2
    tail -n 20 "$dir/kafka.out" >&2 2>/dev/null || true
}

cmd_start() {
    local dir=${1:-} port=${2:-}
    [[ -n $dir ]] || die "usage: kafka.sh start DIR [PORT]"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [[ -z $port ]]; then
        [[ -f $dir/port ]] || die "start: no PORT given and no $dir/port"
        port=$(cat "$dir/port")
    fi
    [[ $port =~ ^[0-9]+$ ]] || die "start: bad port '$port'"
    if running_pid "$dir" >/dev/null; then
        die "start: a broker already runs on $dir (pid $(cat "$dir/kafka.pid"))"
    fi
    command -v java >/dev/null || die "start: java not found"
    command -v kcat >/dev/null || die "start: kcat not found"
    need_libs
    local cport=$((port + 1))
    echo "$port" >"$dir/port"
    cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
EOF
    cat >"$dir/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/kafka.log
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.kafka.log=WARN
log4j.logger.org.apache.kafka.common.config=WARN
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN
log4j.logger.org.apache.kafka.common.metrics=WARN
EOF
    if [[ ! -f $dir/data/meta.properties ]]; then
        if ! tool_java kafka.tools.StorageTool format -t "$(cluster_id)" -c "$dir/server.properties" \
                >"$dir/format.log" 2>&1; then
            cat "$dir/format.log" >&2
            die "start: formatting $dir/data failed"
        fi
    fi
    java -Xmx1g -Xms128m -XX:+UseG1GC -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$LIBS/*" \
        kafka.Kafka "$dir/server.properties" </dev/null >>"$dir/kafka.out" 2>&1 &
    local pid=$!
    echo "$pid" >"$dir/kafka.pid"
    local deadline=$((SECONDS + 90))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            log_tail "$dir"
            rm -f "$dir/kafka.pid"
            die "start: the broker exited"
        fi
        if broker_up "$port"; then
            echo "kafka $VERSION: broker on 127.0.0.1:$port (pid $pid, dir $dir)"
            return 0
        fi
        sleep 0.5
    done
    log_tail "$dir"
    cmd_stop "$dir" >/dev/null || true
    die "start: no answer on 127.0.0.1:$port within 90 s"
}

cmd_stop() {
    local dir=${1:-} pid
    [[ -n $dir ]] || die "usage: kafka.sh stop DIR"
    dir=$(cd "$dir" 2>/dev/null && pwd) || return 0
    if ! pid=$(running_pid "$dir"); then
        rm -f "$dir/kafka.pid"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)) && kill -0 "$pid" 2>/dev/null; do
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "kafka.sh: stop: no clean shutdown within 30 s, killing $pid" >&2
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$dir/kafka.pid"
}

cmd_topic() {
    local where=${1:-} name=${2:-} parts=${3:-} port
    [[ -n $where && -n $name && $parts =~ ^[0-9]+$ ]] ||
        die "usage: kafka.sh topic DIR-or-PORT NAME PARTITIONS [compact|delete] [KEY=VALUE...]"
    shift 3
    if [[ $where =~ ^[0-9]+$ ]]; then
        port=$where
    else
        [[ -f $where/port ]] || die "topic: no $where/port"
        port=$(cat "$where/port")
    fi
    local configs=()
    if (($#)) && [[ $1 == compact || $1 == delete ]]; then
        configs+=(--config "cleanup.policy=$1")
        shift
    fi
    local kv
    for kv in "$@"; do
        [[ $kv == *=* ]] || die "topic: '$kv' is not KEY=VALUE"
        configs+=(--config "$kv")
    done
    need_libs
    tool_java org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$port" \
        --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 1 \
        "${configs[@]}" >/dev/null || die "topic: creating $name failed"
    local deadline=$((SECONDS + 30)) n
    while ((SECONDS < deadline)); do
        n=$(timeout 10 kcat -L -b "127.0.0.1:$port" -t "$name" -m 3 2>/dev/null |
            grep -cE '^ +partition [0-9]+, leader 1,' || true)
        ((n >= parts)) && return 0
        sleep 0.2
    done
    die "topic: $name has no leader for all $parts partitions after 30 s"
}

case ${1:-} in
fetch) shift; cmd_fetch "$@" ;;
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
topic) shift; cmd_topic "$@" ;;
*) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
