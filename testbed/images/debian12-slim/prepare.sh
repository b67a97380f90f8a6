#!/bin/sh
# Runs inside the debootstrap chroot: keep the application base small.
set -eu
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  > /etc/apt/apt.conf.d/90keel-norecommends
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/*
