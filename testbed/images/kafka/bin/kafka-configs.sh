#!/usr/bin/env bash
# Show and change dynamic configuration of topics, brokers and clients.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.admin.ConfigCommand "$@"
