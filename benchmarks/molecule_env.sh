# Sourced by the benchmarks that drive Molecule (noop.sh, litedesk_tenants.sh,
# awx_relaunch.sh): from the tree's root, with its tool chain and collection, and
# plain output that the scripts parse. Sets `here` to the tree's root.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
export PATH="$here/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$here/.testbed/collections"
export ANSIBLE_FORCE_COLOR=0 NO_COLOR=1 PY_COLORS=0
