#!/usr/bin/env bash
# List, describe and reset consumer groups.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@"
