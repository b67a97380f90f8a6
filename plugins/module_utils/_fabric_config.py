# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A channel's configuration as Fabric's configtxlator prints it (JSON), and updates to it.

Pure functions, tested against recorded configtxlator output: which application
organizations a channel has, the envelope that carries a config update and its
signatures, how many organizations' admins must sign (the channel's
default /Channel/Application/Admins policy: MAJORITY Admins), a Raft
consenter replaced (an orderer moved to another server with new keys), and an
organization's anchor peers set (a peer moved to another port).
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


def _orderer_group(config):
    try:
        return config["channel_group"]["groups"]["Orderer"]
    except (KeyError, TypeError) as exc:
        raise ValueError("not a channel configuration: no channel_group.groups.Orderer") from exc


def consenters(config):
    """The Raft consenters of a channel (ConsensusType metadata): host, port and TLS certificates (base64 PEM)."""
    try:
        return _orderer_group(config)["values"]["ConsensusType"]["value"]["metadata"]["consenters"]
    except (KeyError, TypeError) as exc:
        raise ValueError("not a Raft channel: no ConsensusType metadata consenters") from exc


def with_consenter(config, name, host, port, tls_cert, msp_id, endpoints):
    """A copy of ``config`` where the consenter at host ``name`` is at ``host``:``port`` with ``tls_cert`` (base64
    PEM, client and server), and ``msp_id``'s OrdererEndpoints are ``endpoints``.

    One consenter is replaced, never added or removed: the Raft cluster keeps its size.
    """
    updated = copy.deepcopy(config)
    found = [c for c in consenters(updated) if c.get("host") == name]
    if len(found) != 1:
        raise ValueError("%s is not a consenter of the channel (consenters: %s)"
                         % (name, ", ".join(sorted(c.get("host", "?") for c in consenters(updated)))))
    found[0].update(host=host, port=int(port), client_tls_cert=tls_cert, server_tls_cert=tls_cert)
    org = (_orderer_group(updated).get("groups") or {}).get(msp_id)
    if org is None:
        raise ValueError("%s is not an orderer organization of the channel" % msp_id)
    value = org.setdefault("values", {}).setdefault("Endpoints", {"mod_policy": "Admins", "value": {}})
    value.setdefault("value", {})["addresses"] = list(endpoints)
    return updated


def _application_org(config, msp_id):
    try:
        return config["channel_group"]["groups"]["Application"]["groups"][msp_id]
    except (KeyError, TypeError) as exc:
        raise ValueError("%s is not an application organization of the channel" % msp_id) from exc


def anchor_peers(config, msp_id):
    """The anchor peers ``msp_id`` has in the channel's configuration, ``host:port`` each, in their order."""
    value = ((_application_org(config, msp_id).get("values") or {}).get("AnchorPeers") or {}).get("value") or {}
    return ["%s:%s" % (peer.get("host"), peer.get("port")) for peer in value.get("anchor_peers") or []]


def with_anchor_peers(config, msp_id, anchors):
    """A copy of ``config`` where ``msp_id``'s anchor peers are ``anchors`` (``host:port`` each); none removes the
    value. The same peers in another order are no change: ``config`` itself comes back."""
    if sorted(anchor_peers(config, msp_id)) == sorted(anchors):
        return config
    updated = copy.deepcopy(config)
    values = _application_org(updated, msp_id).setdefault("values", {})
    if not anchors:
        values.pop("AnchorPeers", None)
        return updated
    peers = []
    for anchor in anchors:
        host, _sep, port = anchor.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("anchor peer %r is not host:port" % anchor)
        peers.append({"host": host, "port": int(port)})
    entry = values.setdefault("AnchorPeers", {"mod_policy": "Admins"})
    entry["value"] = {"anchor_peers": peers}
    return updated
