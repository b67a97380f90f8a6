#!/usr/bin/env bash
# List the brokers of a cluster and the API versions they support.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
