# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the firewall rules the ufw role owns.

The ufw role takes a list of allowed ports, checks it before anything on the host
changes, adds one tagged rule per item that ufw does not hold yet and removes
tagged rules that are no longer wanted. These filters do the checking and the bookkeeping in plain Python
(ipaddress), so the role needs no extra collection.
"""

import ipaddress
import re

from ansible.errors import AnsibleFilterError

_KEYS = ("port", "proto", "src", "limit", "comment")
_PROTOS = ("tcp", "udp", "any")
_PORT = re.compile(r"^[0-9]{1,5}$")
_RANGE = re.compile(r"^([0-9]{1,5}):([0-9]{1,5})$")
_COMMENT = re.compile(r"^[A-Za-z0-9 _.:/,+=@-]*$")
_ANY_NETS = ("0.0.0.0/0", "::/0")


def _port_problem(port):
    """Return why a port (or low:high range) is invalid, or None."""
    if isinstance(port, bool) or not isinstance(port, (int, str)):
        return "must be a number from 1 to 65535 or a range such as 6000:6007"
    text = str(port).strip()
    if _PORT.match(text):
        if not 1 <= int(text) <= 65535:
            return "is out of range (1 to 65535)"
        return None
    found = _RANGE.match(text)
    if found:
        low, high = int(found.group(1)), int(found.group(2))
        if not (1 <= low < high <= 65535):
            return "is not a range low:high with 1 <= low < high <= 65535"
        return None
    return "must be a number from 1 to 65535 or a range such as 6000:6007"


def _network(src):
    """Parse a source address or CIDR; raise ValueError when it is neither."""
    return ipaddress.ip_network(str(src).strip(), strict=True)


def _covers(port, wanted):
    """True when the port spec (number or range) includes the port number wanted."""
    text = str(port).strip()
    if _PORT.match(text):
        return int(text) == wanted
    low, high = (int(x) for x in text.split(":"))
    return low <= wanted <= high


def _item_errors(where, item):
    """The problems of one allowed-port item."""
    if not isinstance(item, dict):
        return ["%s (%r) must be a dictionary such as {port: 443, proto: tcp}" % (where, item)]
    errors = []
    unknown = sorted(set(item) - set(_KEYS))
    if unknown:
        errors.append("%s has unknown key(s) %s; allowed keys: %s" % (where, ", ".join(unknown), ", ".join(_KEYS)))
    if "port" not in item:
        errors.append("%s has no port" % where)
    elif _port_problem(item["port"]):
        errors.append("%s: port %r %s" % (where, item["port"], _port_problem(item["port"])))
    proto = item.get("proto", "tcp")
    if proto not in _PROTOS:
        errors.append("%s: proto %r must be one of %s" % (where, proto, ", ".join(_PROTOS)))
    elif proto == "any" and _RANGE.match(str(item.get("port", "")).strip()):
        errors.append("%s: a port range needs proto tcp or udp" % where)
    src = item.get("src", "any")
    if src not in (None, "any"):
        try:
            _network(src)
        except ValueError as exc:
            errors.append("%s: src %r is not an IP address or CIDR (%s)" % (where, src, exc))
    if not isinstance(item.get("limit", False), bool):
        errors.append("%s: limit must be true or false, got %r" % (where, item.get("limit")))
    comment = item.get("comment", "")
    if not isinstance(comment, str) or not _COMMENT.match(comment):
        errors.append("%s: comment %r may hold only letters, digits, spaces and _.:/,+=@-" % (where, comment))
    return errors


def ufw_rule_errors(rules, ssh_port=None):
    """Every problem with a list of allowed-port items, as messages that say what to fix."""
    if not isinstance(rules, list):
        kind = type(rules).__name__
        return ["the allowed-port list must be a list of {port, proto, src, limit} items, got %s" % kind]
    errors = []
    for index, item in enumerate(rules):
        errors.extend(_item_errors("item %d" % (index + 1), item))
    if ssh_port is not None and not errors:
        wanted = int(ssh_port)
        if not any(_covers(item["port"], wanted) and item.get("proto", "tcp") in ("tcp", "any") for item in rules):
            errors.append(
                "no item allows SSH on port %d/tcp: enabling ufw would cut every SSH session, "
                "including Ansible's. Add {port: %d, proto: tcp, limit: true} to the list" % (wanted, wanted)
            )
    return errors


def _comment(tag, description):
    return ("%s %s" % (tag, description)).strip() if description else tag


def ufw_rules(rules, tag):
    """Normalize allowed-port items into the rules to add: rule, port, proto, src, comment."""
    errors = ufw_rule_errors(rules)
    if errors:
        raise AnsibleFilterError("ufw_rules: " + "; ".join(errors))
    return _normalized(rules, tag)


def _normalized(rules, tag):
    """ufw_rules for items already checked."""
    result = []
    seen = set()
    for item in rules:
        src = item.get("src") or "any"
        rule = {
            "rule": "limit" if item.get("limit", False) else "allow",
            "port": str(item["port"]).strip(),
            "proto": item.get("proto", "tcp"),
            "src": "any" if src == "any" else str(_network(src)),
            "comment": _comment(tag, item.get("comment", "")),
        }
        key = _key(rule["rule"], rule["proto"], rule["port"], rule["src"])
        if key not in seen:
            seen.add(key)
            result.append(rule)
    return result


def _key(action, proto, port, src):
    src = "any" if src in _ANY_NETS or src == "any" else str(ipaddress.ip_network(src, strict=False))
    return (action, proto, str(port), src)


def _decode_comment(token):
    try:
        return bytes.fromhex(token).decode("utf-8")
    except ValueError:
        return ""


def ufw_tuples(text):
    """Parse the '### tuple ###' lines of ufw's user.rules/user6.rules files."""
    result = []
    for line in (text or "").splitlines():
        if not line.startswith("### tuple ###"):
            continue
        fields = line[len("### tuple ###"):].split()
        comment = ""
        if fields and fields[-1].startswith("comment="):
            comment = _decode_comment(fields.pop()[len("comment="):])
        if len(fields) not in (7, 9):
            continue  # not a layout this filter knows; never touch it
        action, proto, dport, _dst, _sport, src = fields[:6]
        result.append(
            {
                "rule": action,
                "proto": proto,
                "port": dport,
                "src": src,
                "direction": fields[-1],
                "app": len(fields) == 9,
                "comment": comment,
            }
        )
    return result


def _owned(comment, tag):
    return comment == tag or comment.startswith(tag + " ")


def ufw_stale_rules(text, desired, tag):
    """The tagged rules found in user.rules text that are not among the desired rules."""
    if not tag:
        raise AnsibleFilterError("ufw_stale_rules: the tag must not be empty, or every rule would be owned")
    wanted = set(_key(r["rule"], r["proto"], r["port"], r["src"]) for r in desired)
    stale = []
    seen = set()
    for found in ufw_tuples(text):
        if found["app"] or found["direction"] != "in" or found["rule"] not in ("allow", "limit"):
            continue
        if not _owned(found["comment"], tag):
            continue
        key = _key(found["rule"], found["proto"], found["port"], found["src"])
        if key in wanted or key in seen:
            continue
        seen.add(key)
        stale.append({"rule": key[0], "proto": key[1], "port": key[2], "src": key[3], "comment": found["comment"]})
    return stale


def _family(network):
    """4 or 6: the address family of a source as ufw writes it (0.0.0.0/0 and ::/0 included)."""
    return ipaddress.ip_network(network, strict=False).version


def ufw_missing_rules(text, desired, ipv6=True):
    """The desired rules that user.rules text does not hold yet, comment included.

    A rule for any source needs its IPv4 copy, and its IPv6 copy when ufw runs with IPv6; a rule
    for one network needs the copy of that network's family. What this returns is what a run of
    community.general.ufw would add or update; the rest would be skipped by ufw as existing.
    """
    held = set()
    for found in ufw_tuples(text):
        if found["app"] or found["direction"] != "in":
            continue
        key = _key(found["rule"], found["proto"], found["port"], found["src"])
        held.add(key + (_family(found["src"]), found["comment"]))
    missing = []
    for rule in desired:
        families = ((4, 6) if ipv6 else (4,)) if rule["src"] == "any" else (_family(rule["src"]),)
        key = _key(rule["rule"], rule["proto"], rule["port"], rule["src"])
        if any(key + (family, rule["comment"]) not in held for family in families):
            missing.append(rule)
    return missing


def ufw_admits(rules, address, port, proto="tcp"):
    """True when one of the allowed-port items lets a connection from address to port in."""
    errors = ufw_rule_errors(rules)
    if errors:
        raise AnsibleFilterError("ufw_admits: " + "; ".join(errors))
    try:
        client = ipaddress.ip_address(str(address).strip())
    except ValueError as exc:
        raise AnsibleFilterError("ufw_admits: %r is not an IP address" % (address,)) from exc
    for item in rules:
        if item.get("proto", "tcp") not in (proto, "any") or not _covers(item["port"], int(port)):
            continue
        src = item.get("src") or "any"
        if src == "any":
            return True
        network = _network(src)
        if network.version == client.version and client in network:
            return True
    return False


# What a default incoming policy does to a new connection to a published container port.
_DOCKER_VERDICTS = {"deny": "DROP", "reject": "REJECT", "allow": "RETURN"}


def ufw_docker_rules(rules, family, policy="deny", logging="low"):
    """The DOCKER-USER chain, as iptables-restore lines, that puts published container ports under ufw.

    Docker forwards a connection to a published port to its container (DNAT in PREROUTING, then
    FORWARD), so ufw's input rules never see it; DOCKER-USER is the chain Docker consults first in
    FORWARD and never changes. Its rules here: answers and traffic Docker did not DNAT (containers'
    own connections, routed traffic) go on to Docker's and ufw's chains; so do connections from the
    containers' bridges (docker0, br-*). A connection from outside to a published port goes on only
    when an allowed-port item covers its original destination port (conntrack remembers the port
    before DNAT) and source; any other one gets the default incoming policy. C(limit) items are let
    in without the rate limit. Only the items of one address family (4 or 6) are written; a chain
    declaration in an iptables-restore file empties the chain first, so a reload of ufw replaces it.
    """
    errors = ufw_rule_errors(rules)
    if errors:
        raise AnsibleFilterError("ufw_docker_rules: " + "; ".join(errors))
    if str(family) not in ("4", "6"):
        raise AnsibleFilterError("ufw_docker_rules: family must be 4 or 6, got %r" % (family,))
    if policy not in _DOCKER_VERDICTS:
        raise AnsibleFilterError("ufw_docker_rules: policy must be deny, reject or allow, got %r" % (policy,))
    family = int(family)
    chain = "-A DOCKER-USER "
    lines = [
        "*filter",
        ":DOCKER-USER - [0:0]",
        chain + "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        chain + "-m conntrack ! --ctstate DNAT -j RETURN",
        chain + "-i docker0 -j RETURN",
        chain + "-i br-+ -j RETURN",
    ]
    for rule in _normalized(rules, ""):
        source = ""
        if rule["src"] != "any":
            network = ipaddress.ip_network(rule["src"])
            if network.version != family:
                continue
            if network.prefixlen:
                source = "-s %s " % network
        for proto in ("tcp", "udp") if rule["proto"] == "any" else (rule["proto"],):
            line = "%s-p %s %s-m conntrack --ctorigdstport %s -j RETURN" % (chain, proto, source, rule["port"])
            if line not in lines:  # an allow and a limit item of one port give one line
                lines.append(line)
    verdict = _DOCKER_VERDICTS[policy]
    if verdict != "RETURN":
        if logging != "off":
            lines.append(chain + '-m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix "[UFW DOCKER BLOCK] "')
        lines.append(chain + "-j " + verdict)
    lines.append("COMMIT")
    return lines


class FilterModule(object):
    """ufw rule filters."""

    def filters(self):
        return {
            "ufw_admits": ufw_admits,
            "ufw_docker_rules": ufw_docker_rules,
            "ufw_missing_rules": ufw_missing_rules,
            "ufw_rule_errors": ufw_rule_errors,
            "ufw_rules": ufw_rules,
            "ufw_stale_rules": ufw_stale_rules,
        }
