#!/bin/sh
# trino.sh — a Trino server for tests/sql/test_sql_trino_server.py, from
# Maven Central: trino-server 368 (the last release that runs on Java 17,
# the JDK install-deps.sh installs; MATCH_RECOGNIZE is there since 356),
# with the memory connector, on 127.0.0.1:${SECDET_TRINO_PORT:-18080}.
#   sh tests/sql/trino.sh start   download (once, ~650 MB) and start; prints SECDET_TRINO_URL=...
#   sh tests/sql/trino.sh stop    stop the server it started
# Then: SECDET_TRINO_URL=http://127.0.0.1:18080 ctest --test-dir build -R sql
set -eu
VERSION=368
DIR=${SECDET_TRINO_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/secdet-trino}
PORT=${SECDET_TRINO_PORT:-18080}
HOME_DIR=$DIR/trino-server-$VERSION
case "${1:-start}" in
stop)
    [ -f "$DIR/pid" ] && kill "$(cat "$DIR/pid")" 2>/dev/null || true
    rm -f "$DIR/pid"
    exit 0 ;;
start) ;;
*) echo "usage: trino.sh start|stop" >&2; exit 2 ;;
esac
mkdir -p "$DIR"
if [ ! -x "$HOME_DIR/bin/launcher" ]; then
    curl -fsS -o "$DIR/server.tar.gz" \
        "https://repo1.maven.org/maven2/io/trino/trino-server/$VERSION/trino-server-$VERSION.tar.gz"
    tar xzf "$DIR/server.tar.gz" -C "$DIR"
    rm -f "$DIR/server.tar.gz"
fi
mkdir -p "$HOME_DIR/etc/catalog" "$DIR/data"
printf 'node.environment=test\nnode.id=secdet-test\nnode.data-dir=%s\n' "$DIR/data" >"$HOME_DIR/etc/node.properties"
printf -- '-server\n-Xmx2G\n-XX:+UseG1GC\n-XX:+ExplicitGCInvokesConcurrent\n-Djdk.attach.allowAttachSelf=true\n' \
    >"$HOME_DIR/etc/jvm.config"
printf 'coordinator=true\nnode-scheduler.include-coordinator=true\nhttp-server.http.port=%s\nquery.max-memory=1GB\nquery.max-memory-per-node=512MB\ndiscovery.uri=http://127.0.0.1:%s\n' \
    "$PORT" "$PORT" >"$HOME_DIR/etc/config.properties"
echo "connector.name=memory" >"$HOME_DIR/etc/catalog/memory.properties"
"$HOME_DIR/bin/launcher" run >"$DIR/server.log" 2>&1 &
echo $! >"$DIR/pid"
i=0
# Started, and done starting (it refuses queries until then).
until curl -fsS "http://127.0.0.1:$PORT/v1/info" 2>/dev/null | grep -q '"starting":false'; do
    i=$((i + 1))
    if [ $i -gt 180 ] || ! kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
        echo "trino.sh: the server did not start; see $DIR/server.log" >&2
        exit 1
    fi
    sleep 1
done
echo "SECDET_TRINO_URL=http://127.0.0.1:$PORT"
