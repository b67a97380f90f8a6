#!/usr/bin/env bash
# Run a Kafka server (broker, controller or both) with a server.properties file.
if [ $# -lt 1 ]; then
    echo "usage: $0 server.properties [--override key=value]..." >&2
    exit 1
fi
home=$(cd "$(dirname "$0")/.." && pwd)
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
export KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$home/config/log4j2.properties}
exec "$home/bin/kafka-run-class.sh" kafka.Kafka "$@"
