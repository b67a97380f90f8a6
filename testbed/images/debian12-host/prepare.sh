#!/bin/sh
# Runs inside the debootstrap chroot: make systemd behave in a container.
set -eu

# Units that have no job in a container and only slow boot down or fail.
for unit in getty@tty1.service serial-getty@.service console-getty.service \
            systemd-udevd.service systemd-udev-trigger.service \
            systemd-modules-load.service sys-kernel-config.mount \
            sys-kernel-debug.mount sys-kernel-tracing.mount \
            systemd-remount-fs.service systemd-firstboot.service; do
  ln -sf /dev/null "/etc/systemd/system/$unit"
done

# An empty machine-id is filled at each boot, so every host gets its own.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id

# apt: no recommends, no caches kept in the image.
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  > /etc/apt/apt.conf.d/90keel-norecommends
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
