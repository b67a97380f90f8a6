#!/usr/bin/env bash
# Format a log directory for KRaft (cluster id), print a new cluster id.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
