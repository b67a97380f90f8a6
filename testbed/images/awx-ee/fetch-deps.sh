#!/bin/sh
# Runs on the host in the scratch build context (inputs copied in): the wheels of
# ansible-core and ansible-runner at their constraints.txt pins, for Debian 12's
# Python 3.11, into ./wheels; the collections galaxy.yml depends on, from the
# `ansible` package of the tool chain, into ./collections. What is fetched is
# fixed by the pins, which the recipe hash covers.
set -eu
python=${KEEL_PYTHON:-python3}
"$python" -m pip download --quiet --only-binary=:all: --implementation cp --python-version 3.11 \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  --constraint constraints.txt --requirement meta/ee-requirements.txt --dest wheels ansible-core ansible-runner
source=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ansible_collections
for name in $(sed -n '/^dependencies:/,/^[^ ]/s/^  \([a-z_]*\)\.\([a-z_]*\):.*/\1\/\2/p' galaxy.yml); do
  mkdir -p "collections/ansible_collections/${name%/*}"
  cp -a "$source/$name" "collections/ansible_collections/$name"
done
