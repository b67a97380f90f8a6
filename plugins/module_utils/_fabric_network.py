# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One description of a Hyperledger Fabric network, and what it means for one host.

Every Fabric role reads the same data model (``fabric_network``: organizations,
orderers, peers, channels, chaincodes) through :func:`plan`, which answers "what
runs on this host, on which ports, talking to whom" and lists every rule the
description breaks. No I/O here: the roles call it through the ``fabric_plan``
filter and the tests call it directly.
"""

import re

from ansible_collections.keel.infra.plugins.module_utils._fabric_msp import MSP_ID, admin_key_problems
from ansible_collections.keel.infra.plugins.module_utils._rules import DNS_LABEL, DNS_NAME

# Names used in file paths, container names and keys: a DNS label.
ORG_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
NODE_NAME = DNS_LABEL
# Fabric's own rule for channel names (core/chaincode/... validateChannelName): lowercase letters,
# digits, dots and dashes, starting with a letter, fewer than 250 characters.
CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9.-]{0,248}$")
# Fabric's chaincode lifecycle rules (internal/peer/lifecycle/chaincode: name, version, label).
CHAINCODE_NAME = re.compile(r"^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$")
CHAINCODE_VERSION = re.compile(r"^[A-Za-z0-9_.+-]+$")
CHAINCODE_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")

BASE_DIR = "/var/lib/keel/fabric"
# What an exported public definition says it is (fabric_host writes it, fabric reads it).
DEFINITION_FORMAT = "keel.infra/fabric-organization/1"
# Offsets of the ports a node needs besides its main one, when not given.
ORDERER_ADMIN_OFFSET = 3
OPERATIONS_OFFSET = 10000
PEER_CHAINCODE_OFFSET = 1


def _port_error(value, what):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            return "%s must be a port number, got %r" % (what, value)
    if not 1 <= value <= 65535:
        return "%s must be a port number from 1 to 65535, got %d" % (what, value)
    return None


def _port(value):
    return int(str(value))


# A certificate as the exported definitions carry it.
PEM_CERT = re.compile(r"^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*$")


def _is_pem_cert(value):
    return isinstance(value, str) and bool(PEM_CERT.match(value.strip() + "\n"))


def _org_errors(org, where):
    errors = []
    name = org.get("name")
    if not isinstance(name, str) or not ORG_NAME.match(name):
        errors.append("%s.name %r must be a lowercase DNS label (letters, digits, '-'; starts with a letter)"
                      % (where, name))
    msp_id = org.get("msp_id")
    if not isinstance(msp_id, str) or not MSP_ID.match(msp_id):
        errors.append("%s.msp_id %r is not an MSP ID Fabric accepts (a letter, then letters, digits, '.', '-'; "
                      "at most 63 characters)" % (where, msp_id))
    domain = org.get("domain")
    if not isinstance(domain, str) or not DNS_NAME.match(domain):
        errors.append("%s.domain %r must be a lowercase DNS name" % (where, domain))
    return errors


def _node(kind, raw, index, orgs, addresses, base_dir, imported=None):
    """Normalize one orderer or peer; return (node, errors).

    ``imported``: the partner organization whose public definition lists the
    node; such a node runs on none of this inventory's hosts.
    """
    errors = []
    where = ("%s's public definition: %ss[%d]" % (imported, kind, index) if imported
             else "fabric_network.%ss[%d]" % (kind, index))
    name = raw.get("name")
    if not isinstance(name, str) or not NODE_NAME.match(name):
        errors.append("%s.name %r must be a lowercase DNS label such as %s1" % (where, name, kind))
        name = str(name)
    org_name = raw.get("org")
    org = orgs.get(org_name)
    if org is None:
        errors.append("%s (%s) belongs to organization %r, which fabric_network.organizations does not define "
                      "(defined: %s)" % (where, name, org_name, ", ".join(sorted(orgs)) or "none"))
        org = {"name": str(org_name), "domain": "invalid", "msp_id": "invalid"}
    host = "" if imported else raw.get("host")
    if not imported and (not isinstance(host, str) or not host):
        errors.append("%s (%s) needs `host`: the inventory host that runs it" % (where, name))
        host = ""
    ports = {"port": raw.get("port")}
    if kind == "orderer":
        ports["admin_port"] = raw.get("admin_port", _default_port(raw.get("port"), ORDERER_ADMIN_OFFSET))
    else:
        ports["chaincode_port"] = raw.get("chaincode_port", _default_port(raw.get("port"), PEER_CHAINCODE_OFFSET))
    ports["operations_port"] = raw.get("operations_port", _default_port(raw.get("port"), OPERATIONS_OFFSET))
    for key, value in ports.items():
        problem = _port_error(value, "%s (%s).%s" % (where, name, key))
        if problem:
            errors.append(problem)
            ports[key] = 0
        else:
            ports[key] = _port(value)
    fqdn = "%s.%s" % (name, org["domain"])
    node = dict(
        ports,
        kind=kind,
        name=name,
        org=org["name"],
        msp_id=org["msp_id"],
        fqdn=fqdn,
        host=host,
        address=str(raw.get("address") or addresses.get(host) or host),
        endpoint="%s:%s" % (fqdn, ports["port"]),
        dir="%s/%s/%ss/%s" % (base_dir, org["domain"], kind, fqdn),
        tls_ca="%s/%s/tlsca/tlsca.crt" % (base_dir, org["domain"]),
        imported=bool(imported),
    )
    if imported:
        errors.extend(_imported_node_errors(node, raw, where))
    if kind == "orderer":
        node["admin_endpoint"] = "%s:%s" % (fqdn, ports["admin_port"])
    else:
        node["anchor"] = bool(raw.get("anchor", True))
        node["state_database"] = raw.get("state_database")
    return node, errors


def _imported_node_errors(node, raw, where):
    """A partner's node: reached at its address; an orderer names its TLS certificate (a Raft consenter's)."""
    errors = []
    if not node["address"]:
        errors.append("%s (%s) needs `address`: where the partner's server is reached" % (where, node["name"]))
    if node["kind"] == "orderer":
        node["tls_cert"] = raw.get("tls_cert")
        if not _is_pem_cert(node["tls_cert"]):
            errors.append("%s (%s): tls_cert must be the orderer's TLS certificate (PEM)" % (where, node["name"]))
    return errors


def _default_port(port, offset):
    try:
        return int(str(port)) + offset
    except ValueError:
        return None


def _port_clashes(nodes):
    """Two services asking for one port of one host."""
    taken = {}
    errors = []
    for node in nodes:
        keys = ["port", "operations_port"] + (["admin_port"] if node["kind"] == "orderer" else [])
        for key in keys:
            owner = "%s %s (%s)" % (node["kind"], node["fqdn"], key)
            _claim(taken, errors, node["host"], node[key], owner)
    return errors


def _claim(taken, errors, host, port, owner):
    if not host or not port:
        return
    other = taken.get((host, port))
    if other:
        errors.append("host %s: port %d is wanted by %s and by %s; give one of them another port"
                      % (host, port, other, owner))
    else:
        taken[(host, port)] = owner


def _channel(raw, index, orgs, orderers, peers):
    errors = []
    where = "fabric_network.channels[%d]" % index
    name = raw.get("name")
    if not isinstance(name, str) or not CHANNEL_NAME.match(name):
        errors.append("%s.name %r is not a channel name Fabric accepts: lowercase letters, digits, '.' and '-', "
                      "starting with a letter, fewer than 250 characters" % (where, name))
        name = str(name)
    members = raw.get("organizations") or []
    for org in members:
        if org not in orgs:
            errors.append("channel %s lists organization %r, which fabric_network.organizations does not define"
                          % (name, org))
    member_peers = [p for p in peers if p["org"] in members]
    if not errors and not member_peers:
        errors.append("channel %s has no peer: give at least one of %s a peer" % (name, ", ".join(members)))
    wanted = raw.get("orderers")
    chosen = orderers if wanted is None else [o for o in orderers if o["name"] in wanted or o["fqdn"] in wanted]
    if wanted is not None:
        known = set(o["name"] for o in orderers) | set(o["fqdn"] for o in orderers)
        for item in wanted:
            if item not in known:
                errors.append("channel %s lists orderer %r, which fabric_network.orderers does not define"
                              % (name, item))
    if not chosen:
        errors.append("channel %s has no orderer" % name)
    orderer_orgs = []
    for node in chosen:
        if node["org"] not in orderer_orgs:
            orderer_orgs.append(node["org"])
    channel = {
        "name": name,
        "organizations": [o for o in members if o in orgs],
        "orderer_organizations": orderer_orgs,
        "orderers": [o["fqdn"] for o in chosen],
        "peers": [p["fqdn"] for p in member_peers],
        # The host that makes the genesis block: the first orderer's.
        "operator_host": chosen[0]["host"] if chosen else "",
    }
    return channel, errors


def _chaincode(raw, index, channels):
    errors = []
    where = "fabric_network.chaincodes[%d]" % index
    name = raw.get("name")
    if not isinstance(name, str) or not CHAINCODE_NAME.match(name):
        errors.append("%s.name %r is not a chaincode name Fabric accepts (letters and digits, single '-' or '_' "
                      "between them)" % (where, name))
        name = str(name)
    version = str(raw.get("version", ""))
    if not CHAINCODE_VERSION.match(version):
        errors.append("chaincode %s: version %r may hold only letters, digits, '.', '_', '+' and '-'"
                      % (name, version))
    label = str(raw.get("label") or "%s_%s" % (name, version))
    if not CHAINCODE_LABEL.match(label):
        errors.append("chaincode %s: label %r may hold only letters, digits, '.', '_', '+' and '-'" % (name, label))
    channel = raw.get("channel")
    if channel not in channels:
        errors.append("chaincode %s is for channel %r, which fabric_network.channels does not define"
                      % (name, channel))
    image = raw.get("image")
    if not isinstance(image, str) or not image:
        errors.append("chaincode %s needs `image`: the chaincode-as-a-service image to run" % name)
    port = raw.get("port", 9999)
    problem = _port_error(port, "chaincode %s: port" % name)
    if problem:
        errors.append(problem)
        port = 0
    chaincode = {
        "name": name,
        "version": version,
        "label": label,
        "channel": channel,
        "image": image,
        "port": _port(port),
        "service": "%s-ccaas" % name,
        "address": "%s-ccaas:%s" % (name, _port(port)),
        "endorsement_policy": raw.get("endorsement_policy") or "",
        "init_required": bool(raw.get("init_required", False)),
        "env": dict(raw.get("env") or {}),
    }
    return chaincode, errors


def _read_orgs(network, base_dir, errors):
    orgs = {}
    for index, org in enumerate(network.get("organizations", [])):
        errors.extend(_org_errors(org, "fabric_network.organizations[%d]" % index))
        if org.get("name") in orgs:
            errors.append("organization %r is defined twice" % org.get("name"))
        # An organization with a sound name is kept even when other fields are wrong,
        # so that its nodes are not also reported as belonging to nobody.
        if isinstance(org.get("name"), str) and ORG_NAME.match(org["name"]):
            orgs[org["name"]] = {
                "name": org["name"],
                "msp_id": str(org.get("msp_id")),
                "domain": str(org.get("domain")),
                "dir": "%s/%s" % (base_dir, org.get("domain")),
                "imported": False,
            }
    return orgs


def _read_partners(network, definitions, orgs, base_dir, partner_dir, errors):
    """Add the partners' organizations from their imported public definitions.

    Returns their nodes as (organization, kind, raw node) for _read_nodes.
    """
    names = network.get("partners") or []
    by_name = {}
    for definition in definitions or []:
        if isinstance(definition, dict) and isinstance(definition.get("name"), str):
            by_name[definition["name"]] = definition
    nodes = []
    for name in names:
        if name in orgs:
            errors.append("organization %r is both in fabric_network.organizations (its keys are made by this "
                          "inventory) and in fabric_network.partners (imported): keep it in one" % name)
            continue
        definition = by_name.get(name)
        if definition is None:
            errors.append("fabric_network.partners names %r, whose public definition was never imported: put the "
                          "file %s exported (%s.yml) in %s" % (name, name, name, partner_dir or "the partner folder"))
            continue
        where = "%s's public definition" % name
        problems = _org_errors(definition, where)
        for key in ("ca_cert", "tls_ca_cert"):
            if not _is_pem_cert(definition.get(key)):
                problems.append("%s: %s must be a PEM certificate" % (where, key))
        for kind in ("orderers", "peers"):
            if not isinstance(definition.get(kind) or [], list):
                problems.append("%s: %s must be a list" % (where, kind))
        errors.extend(problems)
        if problems:
            continue
        orgs[name] = {
            "name": name,
            "msp_id": definition["msp_id"],
            "domain": definition["domain"],
            "dir": "%s/%s" % (base_dir, definition["domain"]),
            "imported": True,
            "ca_cert": definition["ca_cert"],
            "tls_ca_cert": definition["tls_ca_cert"],
        }
        for kind in ("orderer", "peer"):
            for raw in definition.get(kind + "s") or []:
                nodes.append((name, kind, dict(raw, org=name) if isinstance(raw, dict) else {"org": name}))
    return nodes


def _unique_orgs(orgs, errors):
    for key in ("msp_id", "domain"):
        seen = {}
        for org in orgs.values():
            if org[key] in seen:
                errors.append("organizations %s and %s share %s %r" % (seen[org[key]], org["name"], key, org[key]))
            seen[org[key]] = org["name"]


def _read_nodes(network, orgs, addresses, base_dir, imported, errors):
    nodes = []
    for kind in ("orderer", "peer"):
        for index, raw in enumerate(network.get(kind + "s", [])):
            node, problems = _node(kind, raw, index, orgs, addresses, base_dir)
            errors.extend(problems)
            if orgs.get(node["org"], {}).get("imported"):
                errors.append("%s %s belongs to %s, a partner: its nodes come from the definition %s exported, "
                              "not from this inventory" % (kind, node["fqdn"], node["org"], node["org"]))
            nodes.append(node)
    counters = {}
    for org_name, kind, raw in imported:
        index = counters.setdefault((org_name, kind), 0)
        counters[(org_name, kind)] += 1
        node, problems = _node(kind, raw, index, orgs, addresses, base_dir, imported=org_name)
        errors.extend(problems)
        nodes.append(node)
    seen = set()
    for node in nodes:
        if node["fqdn"] in seen:
            errors.append("node %s is defined twice" % node["fqdn"])
        seen.add(node["fqdn"])
    return nodes


def _holders(nodes, orgs, errors):
    """Organization -> the host of its CA and admin: the host of its first peer, else of its first orderer.

    Its other nodes may run on other hosts of the inventory: those make their
    own keys, and the CA's host issues their certificates (fabric_msp). Its peers
    stay on the CA's host: joining a peer to a channel and installing chaincode
    need the organization's admin, whose key does not leave that host.
    """
    hosts = {}
    for kind in ("peer", "orderer"):
        for node in nodes:
            if node["kind"] == kind and node["host"] and not node["imported"] and node["org"] in orgs:
                hosts.setdefault(node["org"], [])
                if node["host"] not in hosts[node["org"]]:
                    hosts[node["org"]].append(node["host"])
    holders = dict((org, names[0]) for org, names in hosts.items())
    for node in nodes:
        holder = holders.get(node["org"])
        if node["kind"] == "peer" and not node["imported"] and holder and node["host"] != holder:
            errors.append("peer %s runs on %s, but %s's CA and admin are on %s (the host of its first peer): "
                          "joining a peer and installing chaincode need the organization's admin, whose key stays "
                          "there; run %s's peers on %s (its orderers may run on other hosts)"
                          % (node["fqdn"], node["host"], node["org"], holder, node["org"], holder))
    return holders, hosts


def _credentials(node, host, holders, orgs, base_dir):
    """Who acts for a local orderer: its organization's admin on the CA's host, elsewhere the orderer itself.

    The channel participation API asks for a TLS client certificate of the
    organization's TLS CA, which the orderer's own TLS pair is.
    """
    if holders.get(node["org"]) == host:
        return _admin_of(orgs, base_dir, node["org"])
    return {"msp": node["dir"] + "/msp", "tls_cert": node["dir"] + "/tls/server.crt",
            "tls_key": node["dir"] + "/tls/server.key", "tls_ca": node["tls_ca"], "msp_id": node["msp_id"]}


def _admin_of(orgs, base_dir, org_name):
    return _admin_paths(orgs.get(org_name) or {"dir": base_dir + "/invalid", "domain": "invalid", "msp_id": "invalid"})


def _orderer_of(channel, by_fqdn):
    """The orderer that peers of the channel talk to: its first."""
    first = by_fqdn.get((channel["orderers"] or [""])[0])
    if not first:
        return {"orderer_address": "", "orderer_tls_root_cert": ""}
    return {"orderer_address": first["endpoint"], "orderer_tls_root_cert": first["tls_ca"]}


def _local_channels(channels, local_orderers, local_peers, host, orgs, by_fqdn, base_dir, holders):
    result = []
    for channel in channels.values():
        here = dict(channel, **_orderer_of(channel, by_fqdn))
        mine_o = [n for n in local_orderers if n["fqdn"] in channel["orderers"]]
        mine_p = [n for n in local_peers if n["fqdn"] in channel["peers"]]
        here["local_orderers"] = [n["fqdn"] for n in mine_o]
        here["local_peers"] = [n["fqdn"] for n in mine_p]
        here["operator"] = channel["operator_host"] == host
        # Arguments of fabric_orderer_channel (one item per orderer) and fabric_peer_channel (peers).
        here["orderer_joins"] = []
        for n in mine_o:
            org_admin = _credentials(n, host, holders, orgs, base_dir)
            here["orderer_joins"].append({
                "fqdn": n["fqdn"], "admin_endpoint": n["admin_endpoint"], "ca_file": n["tls_ca"],
                "client_cert": org_admin["tls_cert"], "client_key": org_admin["tls_key"]})
        # Orderers here but the channel made elsewhere: the genesis block is fetched from the channel's
        # first orderer, as the local orderers' organization's admin or the orderer itself (readers of the channel).
        here["block_source"] = {}
        if mine_o and not here["operator"]:
            org_admin = _credentials(mine_o[0], host, holders, orgs, base_dir)
            here["block_source"] = {"msp_id": org_admin["msp_id"], "msp_path": org_admin["msp"]}
        # The application organizations the description wants in the channel (fabric_channel_members).
        here["members"] = [application_org(orgs[o]["msp_id"], orgs[o]["dir"] + "/msp", _anchors(
            [p for p in by_fqdn.values() if p["kind"] == "peer" and p["fqdn"] in channel["peers"]], o))
            for o in channel["organizations"]]
        here["peer_joins"] = [
            {"address": n["endpoint"], "msp_id": n["msp_id"], "msp_path": _admin_of(orgs, base_dir, n["org"])["msp"],
             "tls_root_cert": n["tls_ca"]}
            for n in mine_p
        ]
        # The anchor peers of each organization whose admin is here, as the channel must have them
        # (fabric_channel_anchors: a peer that moved to another port).
        here["anchor_updates"] = [
            {"msp_id": orgs[o]["msp_id"], "msp_path": _admin_of(orgs, base_dir, o)["msp"],
             "anchor_peers": ["%s:%s" % (a["Host"], a["Port"]) for a in here["members"][i]["AnchorPeers"]]}
            for i, o in enumerate(channel["organizations"])
            if holders.get(o) == host and any(n["org"] == o for n in mine_p)
        ]
        if mine_o or mine_p or here["operator"]:
            result.append(here)
    return result


def _local_chaincodes(chaincodes, channels, peers, local_peers, orgs, by_fqdn, base_dir):
    result = []
    for cc in chaincodes:
        channel = channels.get(cc["channel"])
        mine = [n for n in local_peers if channel and n["fqdn"] in channel["peers"]]
        if not mine:
            continue
        organizations = []
        for org_name in sorted(set(n["org"] for n in mine)):
            org_admin = _admin_of(orgs, base_dir, org_name)
            organizations.append({"msp_id": org_admin["msp_id"], "msp_path": org_admin["msp"],
                                  "tls_root_cert": org_admin["tls_ca"],
                                  "peers": [n["endpoint"] for n in mine if n["org"] == org_name]})
        # One peer of each organization endorses the commit.
        commit_peers = []
        for org_name in channel["organizations"]:
            first = [n for n in peers if n["org"] == org_name and n["fqdn"] in channel["peers"]][:1]
            commit_peers += [{"address": n["endpoint"], "tls_root_cert": n["tls_ca"]} for n in first]
        result.append(dict(
            cc, organizations=organizations, commit_peers=commit_peers,
            channel_msp_ids=[orgs[o]["msp_id"] for o in channel["organizations"]],
            package_path="%s/chaincode/%s.tar.gz" % (base_dir, cc["label"]),
            **_orderer_of(channel, by_fqdn)
        ))
    return result


def _exports(orgs, nodes, host, holders):
    """Public definitions of the organizations whose keys are made on this host, less their certificates.

    fabric_host fills in the certificates (fabric_msp returns them) and writes
    each to the controller: the one file a partner imports.
    """
    result = []
    for name in sorted(org for org, holder in holders.items() if holder == host):
        org = orgs[name]
        mine = [n for n in nodes if n["org"] == name]
        result.append({
            "name": name, "msp_id": org["msp_id"], "domain": org["domain"],
            "peers": [{"name": n["name"], "port": n["port"], "address": n["address"], "anchor": n["anchor"]}
                      for n in mine if n["kind"] == "peer"],
            "orderers": [{"name": n["name"], "port": n["port"], "address": n["address"]}
                         for n in mine if n["kind"] == "orderer"],
        })
    return result


def _public(orgs, nodes, host, holders):
    """Organizations with no key on this host, and where their public material comes from.

    A partner's comes from its imported definition; one of this inventory's own
    organizations held on another host comes from that host's export in the same run.
    An organization with a node here gets its public material with that node's
    certificates (fabric_msp), not from here.
    """
    result = []
    here = set(n["org"] for n in nodes if n["host"] == host)
    for name in sorted(orgs):
        org = orgs[name]
        if name in here or holders.get(name) == host or (not org["imported"] and name not in holders):
            continue
        item = {"org": name, "msp_id": org["msp_id"], "domain": org["domain"], "dir": org["dir"],
                "imported": org["imported"], "held_on": holders.get(name, "")}
        if org["imported"]:
            item["ca_cert"] = org["ca_cert"]
            item["tls_ca_cert"] = org["tls_ca_cert"]
            item["node_tls_certs"] = dict((n["fqdn"], n["tls_cert"]) for n in nodes
                                          if n["org"] == name and n["kind"] == "orderer")
        result.append(item)
    return result


def _material(local_nodes, host, holders, org_hosts):
    """(CA here, CA elsewhere): the organizations with nodes here, with the identities this host needs.

    CA here: its CA, admin and local nodes' keys and certificates, and the other
    hosts that ask it for their nodes' certificates (``requests_from``). CA
    elsewhere: the local nodes' keys, certificates from the ``holder``.
    """
    held, elsewhere = {}, {}
    for node in local_nodes:
        holder = holders.get(node["org"], host)
        if holder == host:
            org = held.setdefault(node["org"], {
                "org": node["org"], "identities": [{"name": "admin", "kind": "admin"}],
                "requests_from": [h for h in org_hosts.get(node["org"], []) if h != host]})
        else:
            org = elsewhere.setdefault(node["org"], {"org": node["org"], "holder": holder, "identities": []})
        org["identities"].append({"name": node["name"], "kind": node["kind"],
                                  "hosts": [node["fqdn"], "localhost", "127.0.0.1"]})
    return [held[name] for name in sorted(held)], [elsewhere[name] for name in sorted(elsewhere)]


def plan(network, host, addresses=None, base_dir=BASE_DIR, partners=None, partner_dir=""):
    """What the network description means for ``host``.

    Returns a dict; ``errors`` lists every rule the description breaks (an empty
    list when it is sound). The rest describes the whole network (``orgs``,
    ``orderers``, ``peers``, ``channels``, ``chaincodes``) and this host's part in
    it (``local_orderers``, ``local_peers``, ``material``, ``extra_hosts``...).

    ``partners``: the public definitions imported from partner organizations
    (the files fabric_host exports), of which ``fabric_network.partners`` names
    the ones this network uses; ``partner_dir`` is where they are looked for.
    """
    if not isinstance(network, dict):
        return {"errors": ["fabric_network must be a mapping, got %s" % type(network).__name__]}
    errors = []
    net_name = network.get("name")
    if not isinstance(net_name, str) or not ORG_NAME.match(net_name):
        errors.append("fabric_network.name %r must be a lowercase DNS label" % (net_name,))
        net_name = "fabric"
    for key in ("organizations", "orderers", "peers", "channels", "chaincodes", "partners"):
        if not isinstance(network.get(key, []), list):
            return {"errors": errors + ["fabric_network.%s must be a list" % key]}

    orgs = _read_orgs(network, base_dir, errors)
    imported = _read_partners(network, partners, orgs, base_dir, partner_dir, errors)
    _unique_orgs(orgs, errors)
    nodes = _read_nodes(network, orgs, dict(addresses or {}), base_dir, imported, errors)
    holders, org_hosts = _holders(nodes, orgs, errors)
    orderers = [n for n in nodes if n["kind"] == "orderer"]
    peers = [n for n in nodes if n["kind"] == "peer"]
    channels = {}
    for index, raw in enumerate(network.get("channels", [])):
        channel, problems = _channel(raw, index, orgs, orderers, peers)
        errors.extend(problems)
        if channel["name"] in channels:
            errors.append("channel %s is defined twice" % channel["name"])
        channels[channel["name"]] = channel
    chaincodes = []
    for index, raw in enumerate(network.get("chaincodes", [])):
        chaincode, problems = _chaincode(raw, index, channels)
        errors.extend(problems)
        chaincodes.append(chaincode)
    errors.extend(_port_clashes([n for n in nodes if not n["imported"]]))

    local_orderers = [n for n in orderers if n["host"] == host]
    local_peers = [n for n in peers if n["host"] == host]
    local_fqdns = set(n["fqdn"] for n in local_orderers + local_peers)
    by_fqdn = dict((n["fqdn"], n) for n in nodes)
    material, node_material = _material(local_orderers + local_peers, host, holders, org_hosts)
    return {
        "errors": errors,
        "name": net_name,
        "host": host,
        "base_dir": base_dir,
        "orgs": orgs,
        "orderers": orderers,
        "peers": peers,
        "channels": list(channels.values()),
        "chaincodes": chaincodes,
        "local_orderers": local_orderers,
        "local_peers": local_peers,
        "local_channels": _local_channels(channels, local_orderers, local_peers, host, orgs, by_fqdn, base_dir,
                                          holders),
        "local_chaincodes": _local_chaincodes(chaincodes, channels, peers, local_peers, orgs, by_fqdn, base_dir),
        "material": material,
        "node_material": node_material,
        "exports": _exports(orgs, nodes, host, holders),
        # Organization -> the inventory host of its CA and admin (_holders); its nodes' keys are each on its own host.
        "holders": holders,
        "public": _public(orgs, nodes, host, holders) if local_fqdns else [],
        # Nodes on other hosts, reached through their host's address and published port.
        "extra_hosts": dict((n["fqdn"], n["address"]) for n in nodes if n["fqdn"] not in local_fqdns and n["address"]),
        # Names on the host: one Docker network, one tools container, one Compose stack per kind.
        "docker_network": net_name,
        "tools_container": net_name + "-tools",
        "stacks": {"orderers": net_name + "-orderers", "peers": net_name + "-peers",
                   "chaincode": net_name + "-chaincode"},
        "channel_dir": base_dir + "/channels",
    }


def export_definitions(fabric_plan, msp_results):
    """The public definition of each organization whose keys are made on this host, by name.

    ``msp_results``: fabric_msp's results for the plan's ``material`` (each with
    ``item.org``), which carry the CA, TLS CA and orderer TLS certificates. An
    organization whose certificates are not there (check mode on a fresh host) is left out.
    """
    by_org = {}
    for result in msp_results or []:
        if isinstance(result, dict) and result.get("ca_cert"):
            by_org[(result.get("item") or {}).get("org")] = result
    definitions = {}
    for item in fabric_plan["exports"]:
        result = by_org.get(item["name"])
        if result is None:
            continue
        identities = result.get("identities") or {}
        definitions[item["name"]] = dict(
            item,
            format=DEFINITION_FORMAT,
            ca_cert=result["ca_cert"],
            tls_ca_cert=result["tls_ca_cert"],
            orderers=[dict(o, tls_cert=(identities.get("orderer/" + o["name"]) or {}).get("tls_cert"))
                      for o in item["orderers"]],
        )
    return definitions


def public_material(fabric_plan, exported):
    """What fabric_msp writes (O(public)) for each organization whose keys are not on this host.

    A partner's material is in its imported definition; an organization of this
    inventory held on another host is taken from ``exported`` (organization ->
    definition, what export_definitions gave on the hosts of this run).
    """
    items = []
    for item in fabric_plan.get("public", []):
        if not item["imported"]:
            definition = (exported or {}).get(item["org"])
            if not definition:
                continue
            items.append(dict(item, ca_cert=definition["ca_cert"], tls_ca_cert=definition["tls_ca_cert"],
                              node_tls_certs=dict(("%s.%s" % (o["name"], definition["domain"]), o["tls_cert"])
                                                  for o in definition["orderers"])))
        else:
            items.append(item)
    return items


def _quorum_errors(fabric_plan, stopping, what):
    """Channels whose Raft cluster loses its majority while the orderers ``stopping`` are out at once."""
    errors = []
    for channel in fabric_plan["channels"]:
        total = len(channel["orderers"])
        stopped = sorted(fqdn for fqdn in channel["orderers"] if fqdn in stopping)
        if stopped and total - len(stopped) < total // 2 + 1:
            errors.append("moving %s stops %d of the %d orderers of channel %s at once (%s), and Raft needs %d "
                          "running: move them one at a time, one run each, so that the cluster keeps its quorum"
                          % (what, len(stopped), total, channel["name"], ", ".join(stopped), total // 2 + 1))
    return errors


def move_errors(fabric_plan, leaving):
    """What is wrong with moving ``leaving`` (organization -> the host its keys leave) all in one run.

    Its nodes stop on the old host while its keys travel, so a channel whose
    orderers would lose their Raft majority at once cannot be moved that way;
    and an organization's keys cannot go to a host that runs none of its nodes.
    """
    stopping = set(n["fqdn"] for n in fabric_plan["orderers"] if n["org"] in leaving)
    errors = _quorum_errors(fabric_plan, stopping, ", ".join(sorted(set(leaving))))
    for org, old in sorted(leaving.items()):
        if org not in fabric_plan["holders"]:
            errors.append("%s's keys are on %s, but no node of %s is on any host of this inventory any more: give "
                          "its nodes their new host in fabric_network" % (org, old, org))
    return errors


def _org_first_node(fabric_plan, org):
    """The node that decides where an organization's CA is (_holders): its first peer, else its first orderer."""
    for kind in ("peers", "orderers"):
        for node in fabric_plan[kind]:
            if node["org"] == org and not node["imported"]:
                return node
    return None


def orderer_move_errors(fabric_plan, moving, hosts):
    """What is wrong with moving the orderers ``moving`` (orderer -> the host its keys are on) in one run.

    An orderer of an organization whose nodes sit on several hosts gets new keys
    on its new host, hence a new TLS certificate: a consenter change on every
    channel it orders. One consenter is replaced per run, and while it is out
    the others must keep the Raft majority. ``hosts``: the inventory's hosts.
    """
    errors = []
    by_fqdn = dict((n["fqdn"], n) for n in fabric_plan["orderers"])
    if len(moving) > 1:
        errors.append("%d orderers move in this run (%s): a consenter change replaces one orderer at a time; give "
                      "one of them its new host, run, then the next" % (len(moving), ", ".join(sorted(moving))))
    for fqdn, old in sorted(moving.items()):
        node = by_fqdn.get(fqdn)
        if node is None:
            errors.append("the keys of orderer %s are on %s, but fabric_network has no such orderer any more: "
                          "removing an orderer from its channels is not supported" % (fqdn, old))
            continue
        if node["host"] not in hosts:
            errors.append("orderer %s moves to %s, which is not a host of this inventory: add it to the inventory "
                          "(group fabric) first" % (fqdn, node["host"]))
        first = _org_first_node(fabric_plan, node["org"])
        if first is not None and first["fqdn"] == fqdn:
            errors.append("orderer %s is the node of %s that its CA and admin go with (its first peer, else its "
                          "first orderer): moving it moves the organization's keys, which is "
                          "playbooks/fabric_move.yml's work, not a consenter change" % (fqdn, node["org"]))
    stopping = set(fqdn for fqdn in moving if fqdn in by_fqdn)
    errors.extend(_quorum_errors(fabric_plan, stopping, ", ".join(sorted(stopping))))
    return errors


def consenter_changes(fabric_plan, fqdn):
    """Arguments of fabric_channel_consenter for each channel that orderer ``fqdn`` orders, run on its
    organization's CA host (where its new TLS certificate is, and the admin that signs)."""
    node = [n for n in fabric_plan["orderers"] if n["fqdn"] == fqdn][0]
    org = fabric_plan["orgs"][node["org"]]
    org_admin = _admin_paths(org)
    result = []
    for channel in fabric_plan["channels"]:
        if fqdn not in channel["orderers"]:
            continue
        staying = [n for n in fabric_plan["orderers"] if n["fqdn"] in channel["orderers"] and n["fqdn"] != fqdn]
        result.append({
            "channel": channel["name"], "orderer": fqdn, "port": node["port"],
            "tls_cert": node["dir"] + "/tls/server.crt", "org_msp_id": node["msp_id"],
            "endpoints": [n["endpoint"] for n in fabric_plan["orderers"]
                          if n["org"] == node["org"] and n["fqdn"] in channel["orderers"]],
            "msp_id": org_admin["msp_id"], "msp_path": org_admin["msp"],
            "orderer_address": staying[0]["endpoint"] if staying else "",
            "orderer_tls_root_cert": staying[0]["tls_ca"] if staying else "",
            "work_dir": "%s/%s/consenters" % (fabric_plan["channel_dir"], channel["name"]),
        })
    return result


def admin(fabric_plan, org_name):
    """Paths of an organization's admin identity on the host that holds its keys."""
    return _admin_paths(fabric_plan["orgs"][org_name])


def _admin_paths(org):
    folder = "%s/admins/admin.%s" % (org["dir"], org["domain"])
    return {"msp": folder + "/msp", "tls_cert": folder + "/tls/client.crt", "tls_key": folder + "/tls/client.key",
            "tls_ca": org["dir"] + "/tlsca/tlsca.crt", "msp_id": org["msp_id"]}


def _channel_and_peers(fabric_plan, channel_name):
    """A channel of the plan, by name, and the peer nodes of its organizations."""
    channel = [c for c in fabric_plan["channels"] if c["name"] == channel_name][0]
    return channel, [p for p in fabric_plan["peers"] if p["fqdn"] in channel["peers"]]


def _signature(rule):
    return {"Type": "Signature", "Rule": rule}


def _implicit(rule):
    return {"Type": "ImplicitMeta", "Rule": rule}


def _anchors(peers, org_name):
    return [{"Host": p["fqdn"], "Port": p["port"]} for p in peers if p["org"] == org_name and p["anchor"]]


def application_org(msp_id, msp_dir, anchor_peers):
    """An application organization's section of configtx.yaml: its MSP, policies and anchor peers.

    The genesis block (configtx) and a later config update that adds the
    organization to a running channel (fabric_channel_members) use the same one.
    """
    msp = msp_id
    return {
        "Name": msp, "ID": msp, "MSPDir": msp_dir,
        "Policies": {
            "Readers": _signature("OR('%s.admin', '%s.peer', '%s.client')" % (msp, msp, msp)),
            "Writers": _signature("OR('%s.admin', '%s.client')" % (msp, msp)),
            "Admins": _signature("OR('%s.admin')" % msp),
            "Endorsement": _signature("OR('%s.peer')" % msp),
        },
        "AnchorPeers": list(anchor_peers),
    }


def configtx(fabric_plan, channel_name, batch_timeout="2s", max_message_count=10):
    """The configtx.yaml (as data) whose profile ``Channel`` makes the channel's genesis block.

    Raft (etcdraft) ordering by the channel's orderers; every organization's MSP
    folder and every consenter's TLS certificate are read from the host's
    material folder; the application organizations' anchor peers go into the
    genesis block, so no later config update is needed for them.
    """
    channel, peers = _channel_and_peers(fabric_plan, channel_name)
    orderers = [o for o in fabric_plan["orderers"] if o["fqdn"] in channel["orderers"]]

    def org_section(name, application):
        org = fabric_plan["orgs"][name]
        msp = org["msp_id"]
        if application:
            return application_org(msp, org["dir"] + "/msp", _anchors(peers, name))
        return {
            "Name": msp, "ID": msp, "MSPDir": org["dir"] + "/msp",
            "Policies": {
                "Readers": _signature("OR('%s.member')" % msp),
                "Writers": _signature("OR('%s.member')" % msp),
                "Admins": _signature("OR('%s.admin')" % msp),
            },
            "OrdererEndpoints": [o["endpoint"] for o in orderers if o["org"] == name],
        }

    common = {
        "Readers": _implicit("ANY Readers"),
        "Writers": _implicit("ANY Writers"),
        "Admins": _implicit("MAJORITY Admins"),
    }
    profile = {
        "Policies": dict(common),
        "Capabilities": {"V2_0": True},
        "Orderer": {
            "OrdererType": "etcdraft",
            "BatchTimeout": batch_timeout,
            "BatchSize": {"MaxMessageCount": max_message_count, "AbsoluteMaxBytes": "99 MB",
                          "PreferredMaxBytes": "512 KB"},
            "EtcdRaft": {
                "Consenters": [{"Host": o["fqdn"], "Port": o["port"], "ClientTLSCert": o["dir"] + "/tls/server.crt",
                                "ServerTLSCert": o["dir"] + "/tls/server.crt"} for o in orderers],
                "Options": {"TickInterval": "500ms", "ElectionTick": 10, "HeartbeatTick": 1,
                            "MaxInflightBlocks": 5, "SnapshotIntervalSize": "16 MB"},
            },
            "Organizations": [org_section(name, False) for name in channel["orderer_organizations"]],
            "Policies": dict(common, BlockValidation=_implicit("ANY Writers")),
            "Capabilities": {"V2_0": True},
        },
        "Application": {
            "Organizations": [org_section(name, True) for name in channel["organizations"]],
            "Policies": dict(common, LifecycleEndorsement=_implicit("MAJORITY Endorsement"),
                             Endorsement=_implicit("MAJORITY Endorsement")),
            "Capabilities": {"V2_5": True},
        },
    }
    return {"Profiles": {"Channel": profile}}


# Inside the node containers: the node's own MSP and TLS folders.
NODE_MSP = "/etc/hyperledger/node/msp"
NODE_TLS = "/etc/hyperledger/node/tls"


def _service(fabric_plan, node, image, environment, ports, data_path, command):
    return {
        "image": image,
        "container_name": node["fqdn"],
        "hostname": node["fqdn"],
        "command": command,
        "environment": environment,
        "ports": ports,
        "volumes": [
            "%s/msp:%s:ro" % (node["dir"], NODE_MSP),
            "%s/tls:%s:ro" % (node["dir"], NODE_TLS),
            "%s:%s" % (node["fqdn"], data_path),
        ],
        "extra_hosts": ["%s:%s" % item for item in sorted(fabric_plan["extra_hosts"].items())],
        "networks": {"fabric": {"aliases": [node["fqdn"]]}},
        "restart": "unless-stopped",
    }


def _stack(fabric_plan, services, volumes):
    return {
        "services": services,
        "volumes": dict((name, {}) for name in volumes),
        "networks": {"fabric": {"name": fabric_plan["docker_network"], "external": True}},
    }


def orderer_stack(fabric_plan, image, log_level="INFO"):
    """Compose definition of this host's orderers (Raft, TLS, channel participation API)."""
    services = {}
    for node in fabric_plan["local_orderers"]:
        tls = {"CERTIFICATE": NODE_TLS + "/server.crt", "PRIVATEKEY": NODE_TLS + "/server.key",
               "ROOTCAS": "[%s/ca.crt]" % NODE_TLS}
        env = {
            "FABRIC_LOGGING_SPEC": log_level,
            # Inside the container; what the host exposes is decided by `ports`.
            "ORDERER_GENERAL_LISTENADDRESS": "0.0.0.0",  # noqa: S104
            "ORDERER_GENERAL_LISTENPORT": str(node["port"]),
            "ORDERER_GENERAL_LOCALMSPID": node["msp_id"],
            "ORDERER_GENERAL_LOCALMSPDIR": NODE_MSP,
            "ORDERER_GENERAL_TLS_ENABLED": "true",
            # No system channel: channels are joined through the admin endpoint.
            "ORDERER_GENERAL_BOOTSTRAPMETHOD": "none",
            "ORDERER_CHANNELPARTICIPATION_ENABLED": "true",
            "ORDERER_ADMIN_LISTENADDRESS": "0.0.0.0:%d" % node["admin_port"],
            "ORDERER_ADMIN_TLS_ENABLED": "true",
            "ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED": "true",
            "ORDERER_ADMIN_TLS_CLIENTROOTCAS": "[%s/ca.crt]" % NODE_TLS,
            "ORDERER_OPERATIONS_LISTENADDRESS": "0.0.0.0:%d" % node["operations_port"],
            "ORDERER_METRICS_PROVIDER": "prometheus",
            "ORDERER_FILELEDGER_LOCATION": "/var/hyperledger/production/orderer",
            "ORDERER_CONSENSUS_WALDIR": "/var/hyperledger/production/orderer/etcdraft/wal",
            "ORDERER_CONSENSUS_SNAPDIR": "/var/hyperledger/production/orderer/etcdraft/snapshot",
        }
        for key, value in tls.items():
            env["ORDERER_GENERAL_TLS_" + key] = value
            env["ORDERER_ADMIN_TLS_" + key] = value
        env["ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE"] = tls["CERTIFICATE"]
        env["ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY"] = tls["PRIVATEKEY"]
        env["ORDERER_GENERAL_CLUSTER_ROOTCAS"] = tls["ROOTCAS"]
        ports = ["%d:%d" % (node["port"], node["port"]),
                 "127.0.0.1:%d:%d" % (node["admin_port"], node["admin_port"]),
                 "127.0.0.1:%d:%d" % (node["operations_port"], node["operations_port"])]
        services[node["fqdn"]] = _service(fabric_plan, node, image, env, ports, "/var/hyperledger/production",
                                          ["orderer"])
    return _stack(fabric_plan, services, list(services))


def peer_stack(fabric_plan, image, state_database="CouchDB", couchdb_image="couchdb:3.3", log_level="INFO",
               core_config=""):
    """Compose definition of this host's peers (TLS, gossip, CCaaS builder) and their CouchDB.

    ``core_config``: a core.yaml to mount over the image's (relative to the stack folder).
    """
    services = {}
    volumes = []
    for node in fabric_plan["local_peers"]:
        database = node.get("state_database") or state_database
        env = {
            "FABRIC_LOGGING_SPEC": log_level,
            "CORE_PEER_ID": node["fqdn"],
            "CORE_PEER_ADDRESS": node["endpoint"],
            "CORE_PEER_LISTENADDRESS": "0.0.0.0:%d" % node["port"],
            "CORE_PEER_CHAINCODEADDRESS": "%s:%d" % (node["fqdn"], node["chaincode_port"]),
            "CORE_PEER_CHAINCODELISTENADDRESS": "0.0.0.0:%d" % node["chaincode_port"],
            "CORE_PEER_GOSSIP_BOOTSTRAP": node["endpoint"],
            "CORE_PEER_GOSSIP_EXTERNALENDPOINT": node["endpoint"],
            "CORE_PEER_LOCALMSPID": node["msp_id"],
            "CORE_PEER_MSPCONFIGPATH": NODE_MSP,
            "CORE_PEER_TLS_ENABLED": "true",
            "CORE_PEER_TLS_CERT_FILE": NODE_TLS + "/server.crt",
            "CORE_PEER_TLS_KEY_FILE": NODE_TLS + "/server.key",
            "CORE_PEER_TLS_ROOTCERT_FILE": NODE_TLS + "/ca.crt",
            "CORE_PEER_PROFILE_ENABLED": "false",
            "CORE_OPERATIONS_LISTENADDRESS": "0.0.0.0:%d" % node["operations_port"],
            "CORE_METRICS_PROVIDER": "prometheus",
            "CORE_LEDGER_STATE_STATEDATABASE": database,
        }
        ports = ["%d:%d" % (node["port"], node["port"]),
                 "127.0.0.1:%d:%d" % (node["operations_port"], node["operations_port"])]
        service = _service(fabric_plan, node, image, env, ports, "/var/hyperledger/production",
                           ["peer", "node", "start"])
        if core_config:
            service["volumes"].append("%s:/etc/hyperledger/fabric/core.yaml:ro" % core_config)
        volumes.append(node["fqdn"])
        if database == "CouchDB":
            couch = "couchdb." + node["fqdn"]
            env["CORE_LEDGER_STATE_COUCHDBCONFIG_COUCHDBADDRESS"] = couch + ":5984"
            env["CORE_LEDGER_STATE_COUCHDBCONFIG_USERNAME"] = "${FABRIC_COUCHDB_USER}"
            # Compose takes the password from the stack's 0600 .env.
            env["CORE_LEDGER_STATE_COUCHDBCONFIG_PASSWORD"] = "${FABRIC_COUCHDB_PASSWORD}"  # noqa: S105
            services[couch] = {
                "image": couchdb_image,
                "container_name": couch,
                "environment": {"COUCHDB_USER": "${FABRIC_COUCHDB_USER}",
                                "COUCHDB_PASSWORD": "${FABRIC_COUCHDB_PASSWORD}"},
                "volumes": ["%s:/opt/couchdb/data" % couch],
                "networks": {"fabric": {"aliases": [couch]}},
                "restart": "unless-stopped",
            }
            service["depends_on"] = [couch]
            volumes.append(couch)
        services[node["fqdn"]] = service
    return _stack(fabric_plan, services, volumes)


def chaincode_stack(fabric_plan, package_ids):
    """Compose definition of this host's chaincode servers: one per chaincode, shared by its local peers."""
    services = {}
    for chaincode in fabric_plan["local_chaincodes"]:
        env = dict((str(k), str(v)) for k, v in chaincode["env"].items())
        env["CHAINCODE_ID"] = package_ids[chaincode["name"]]
        env["CHAINCODE_SERVER_ADDRESS"] = "0.0.0.0:%d" % chaincode["port"]
        services[chaincode["service"]] = {
            "image": chaincode["image"],
            "container_name": "%s-%s" % (fabric_plan["name"], chaincode["service"]),
            "environment": env,
            "networks": {"fabric": {"aliases": [chaincode["service"]]}},
            "restart": "unless-stopped",
        }
    return _stack(fabric_plan, services, [])


def connection_profile(fabric_plan, org_name, channel_name, admin_password=""):
    """A connection profile for clients of one organization (Hyperledger Explorer's format).

    Lists the channel's peers with their TLS CA certificates, and the
    organization's admin identity (certificate and key paths on its host).
    Explorer takes its login password from here as it is: keep the file 0600.
    """
    org = fabric_plan["orgs"][org_name]
    _channel, peers = _channel_and_peers(fabric_plan, channel_name)
    own = [p["fqdn"] for p in peers if p["org"] == org_name]
    msp = _admin_paths(org)["msp"]
    return {
        "name": fabric_plan["name"],
        "version": "1.0.0",
        "client": {
            "tlsEnable": True,
            "adminCredential": {"id": "admin", "password": admin_password},
            "enableAuthentication": True,
            "organization": org["msp_id"],
            "connection": {"timeout": {"peer": {"endorser": "300"}, "orderer": "300"}},
        },
        "channels": {channel_name: {"peers": dict((fqdn, {}) for fqdn in own)}},
        "organizations": {org["msp_id"]: {
            "mspid": org["msp_id"],
            "adminPrivateKey": {"path": msp + "/keystore/priv_sk"},
            "signedCert": {"path": msp + "/signcerts/cert.pem"},
            "peers": own,
        }},
        "peers": dict((p["fqdn"], {"url": "grpcs://" + p["endpoint"], "tlsCACerts": {"path": p["tls_ca"]}})
                      for p in peers if p["fqdn"] in own),
    }


def admin_key_errors(fabric_plan, msp_id, key_file, key_pem):
    """What is wrong with the admin key a run brings (fabric_admin_msp_id, fabric_admin_key_file); [] when fine.

    ``key_pem`` is the file's text, read on the controller by the caller ('' when
    it is no file there). No message quotes the key.
    """
    if not msp_id and not key_file:
        return []
    if not msp_id or not key_file:
        empty = "fabric_admin_key_file" if msp_id else "fabric_admin_msp_id"
        return ["fabric_admin_msp_id and fabric_admin_key_file go together (the organization, and the file on the "
                "controller with its admin's key); %s is empty" % empty]
    errors = []
    own = [org["msp_id"] for org in fabric_plan["orgs"].values() if not org["imported"]]
    if msp_id not in own:
        errors.append("fabric_admin_msp_id %s is not an organization whose keys this inventory makes (%s)"
                      % (msp_id, ", ".join(own) or "none"))
    if not key_pem:
        errors.append("fabric_admin_key_file %s is not a file on the controller, or it is empty" % key_file)
    else:
        errors.extend("fabric_admin_key_file %s: %s" % (key_file, problem) for problem in admin_key_problems(key_pem))
    return errors
