#!/usr/bin/env bash
# Start a Java class of Kafka with every jar in /opt/kafka/libs on the class path.
# Honours the variables of upstream's scripts: KAFKA_HEAP_OPTS,
# KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_LOG4J_OPTS, KAFKA_OPTS.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 CLASS [ARGS...]" >&2
    exit 1
fi
home=$(cd "$(dirname "$0")/.." && pwd)
heap=${KAFKA_HEAP_OPTS:--Xmx256M}
performance=${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -Djava.awt.headless=true}
logging=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$home/config/tools-log4j2.properties}
# Word splitting of the option strings is wanted: each holds several options.
# shellcheck disable=SC2086
exec java $heap $performance $logging ${KAFKA_OPTS:-} -cp "$home/libs/*" "$@"
