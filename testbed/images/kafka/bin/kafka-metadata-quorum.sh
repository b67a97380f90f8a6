#!/usr/bin/env bash
# Show the state of the KRaft controller quorum.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.MetadataQuorumCommand "$@"
