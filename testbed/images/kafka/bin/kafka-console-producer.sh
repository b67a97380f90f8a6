#!/usr/bin/env bash
# Send lines of standard input as records to a topic.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.ConsoleProducer "$@"
