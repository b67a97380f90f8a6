# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A channel's configuration as Fabric's configtxlator prints it (JSON), and updates to it.

Pure functions, tested against recorded configtxlator output: which application
organizations a channel has, the envelope that carries a config update and its
signatures, and how many organizations' admins must sign (the channel's
default /Channel/Application/Admins policy: MAJORITY Admins).
"""

import copy

# common.HeaderType CONFIG_UPDATE
CONFIG_UPDATE = 2


def channel_config(block):
    """The channel's Config in a decoded config block (`peer channel fetch config`, common.Block)."""
    try:
        return block["data"]["data"][0]["payload"]["data"]["config"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError("not a config block: no data.data[0].payload.data.config") from exc


def application_members(config):
    """MSP IDs (group names) of the channel's application organizations, sorted."""
    groups = config.get("channel_group", {}).get("groups", {}).get("Application", {}).get("groups", {})
    return sorted(groups)


def with_organizations(config, org_groups):
    """A copy of ``config`` with each org group (name -> group, as `configtxgen -printOrg` prints) added."""
    updated = copy.deepcopy(config)
    application = updated["channel_group"]["groups"]["Application"]
    for name, group in sorted(org_groups.items()):
        application["groups"][name] = group
    return updated


def envelope(channel, config_update):
    """A common.Envelope (as JSON for configtxlator) that carries ``config_update``, unsigned."""
    return {"payload": {"header": {"channel_header": {"channel_id": channel, "type": CONFIG_UPDATE}},
                        "data": {"config_update": config_update}}}


def envelope_parts(decoded):
    """(config_update, MSP IDs that signed it) of a decoded envelope (common.Envelope)."""
    try:
        data = decoded["payload"]["data"]
        update = data["config_update"]
    except (KeyError, TypeError) as exc:
        raise ValueError("not a config update envelope: no payload.data.config_update") from exc
    signers = []
    for item in data.get("signatures") or []:
        msp_id = ((item.get("signature_header") or {}).get("creator") or {}).get("mspid")
        if msp_id and msp_id not in signers:
            signers.append(msp_id)
    return update, signers


def added_organizations(config_update):
    """Application organizations a config update writes that it does not read (the ones it adds)."""
    def groups(side):
        return set(((config_update.get(side) or {}).get("groups", {}).get("Application", {}).get("groups") or {}))
    return sorted(groups("write_set") - groups("read_set"))


def majority(count):
    """How many of ``count`` organizations' admins a MAJORITY policy needs."""
    return count // 2 + 1
