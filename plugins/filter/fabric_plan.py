# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Fabric family's one reading of the network description."""

from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.module_utils._fabric_network import (
    BASE_DIR,
    admin,
    admin_key_errors,
    chaincode_stack,
    configtx,
    connection_profile,
    consenter_changes,
    export_definitions,
    move_errors,
    orderer_move_errors,
    orderer_stack,
    peer_stack,
    plan,
    public_material,
)


def fabric_plan(network, host, addresses=None, base_dir=BASE_DIR, partners=None, partner_dir=""):
    """What the network description means for one host; ``errors`` lists what is wrong with it."""
    return plan(network, host, addresses=addresses, base_dir=base_dir, partners=partners, partner_dir=partner_dir)


def fabric_exports(fabric_plan, msp_results):
    """Public definitions (organization -> definition) of the organizations whose keys are made on this host."""
    return export_definitions(fabric_plan, msp_results)


def fabric_public(fabric_plan, exported=None):
    """Public material to write on this host for the organizations whose keys are held elsewhere."""
    return public_material(fabric_plan, exported)


def fabric_admin(fabric_plan, org):
    """Paths of an organization's admin identity (MSP, TLS client pair, TLS CA) on its host."""
    return admin(fabric_plan, org)


def fabric_configtx(fabric_plan, channel, batch_timeout="2s", max_message_count=10):
    """configtx.yaml, as data, whose profile C(Channel) makes the channel's genesis block."""
    return configtx(fabric_plan, channel, batch_timeout=batch_timeout, max_message_count=max_message_count)


def fabric_compose(fabric_plan, kind, image=None, state_database="CouchDB", couchdb_image="couchdb:3.3",
                   package_ids=None, log_level="INFO", core_config=""):
    """Compose definition of this host's orderers, peers or chaincode servers."""
    if kind == "orderers":
        return orderer_stack(fabric_plan, image, log_level=log_level)
    if kind == "peers":
        return peer_stack(fabric_plan, image, state_database=state_database, couchdb_image=couchdb_image,
                          log_level=log_level, core_config=core_config)
    if kind == "chaincode":
        return chaincode_stack(fabric_plan, package_ids or {})
    raise AnsibleFilterError("fabric_compose: kind must be orderers, peers or chaincode, got %r" % (kind,))


def fabric_connection_profile(fabric_plan, org, channel, admin_password=""):
    """Connection profile of one organization's clients on one channel (Hyperledger Explorer's format)."""
    return connection_profile(fabric_plan, org, channel, admin_password=admin_password)


def fabric_move_errors(fabric_plan, leaving):
    """What is wrong with moving organizations' nodes (organization -> old host) in one run."""
    return move_errors(fabric_plan, leaving)


def fabric_orderer_move_errors(fabric_plan, moving, hosts):
    """What is wrong with moving orderers (orderer -> the host its keys are on) to other hosts in one run."""
    return orderer_move_errors(fabric_plan, moving, hosts)


def fabric_admin_key_errors(fabric_plan, msp_id, key_file, key_pem):
    """What is wrong with the admin key a run brings for one of the inventory's organizations."""
    return admin_key_errors(fabric_plan, msp_id, key_file, key_pem)


def fabric_consenter_changes(fabric_plan, orderer):
    """fabric_channel_consenter's arguments for each channel the moving orderer orders."""
    return consenter_changes(fabric_plan, orderer)


class FilterModule(object):
    """Hyperledger Fabric network filters."""

    def filters(self):
        return {"fabric_plan": fabric_plan, "fabric_admin": fabric_admin, "fabric_configtx": fabric_configtx,
                "fabric_compose": fabric_compose, "fabric_connection_profile": fabric_connection_profile,
                "fabric_exports": fabric_exports, "fabric_public": fabric_public,
                "fabric_move_errors": fabric_move_errors, "fabric_orderer_move_errors": fabric_orderer_move_errors,
                "fabric_consenter_changes": fabric_consenter_changes,
                "fabric_admin_key_errors": fabric_admin_key_errors}
