# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a stack fits its host: the CPU and memory its limits table needs, and the host ports it claims.

A stack's limits table (the one compose_limits puts into its services) says the most each
service may take. What the host must have is their sum plus an overhead (the operating
system, the engine, what runs beside the stack); host_fit_errors compares that with the
host's processors and memory and says what is short, in figures. port_clashes finds two
services that ask for one port of the host.
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.module_utils import _rules

_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5}
_GIB = 1024 ** 3


def _memory_bytes(where, value):
    """Bytes of a memory size in Docker's syntax (binary units, as the engine reads them)."""
    reason = _rules.docker_size(value)
    if reason:
        raise AnsibleFilterError("%s memory '%s' %s." % (where, value, reason))
    match = _rules._DOCKER_SIZE.match(str(value))  # the one copy of Docker's size syntax
    return int(float(match.group(1)) * _UNITS[(match.group(3) or "").lower()])


def _cpus(where, value):
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        cpus = -1.0
    if cpus < 0 or isinstance(value, bool):
        raise AnsibleFilterError(
            "%s cpus '%s' is not a number of processors: use one such as 0.5 or 2." % (where, value))
    return cpus


def _table(resources):
    if not isinstance(resources, Mapping):
        raise AnsibleFilterError("host_needs: the limits table must map service names to {cpus, memory}")
    return resources


def host_needs(resources, overhead=None):
    """{cpus, memory (bytes), services, limits: {cpus, memory}, overhead: {cpus, memory}} of a limits table.

    Every service of the table needs both limits: a service without one is not bounded, and
    no sum can say whether the host holds it.
    """
    limits = {"cpus": 0.0, "memory": 0}
    for name, table in sorted(_table(resources).items()):
        if not isinstance(table, Mapping) or "cpus" not in table or "memory" not in table:
            raise AnsibleFilterError(
                "The limits table gives %s no cpus or no memory limit: give every service both, so that the "
                "stack's needs can be summed (a service without a limit may take the whole host)." % name)
        limits["cpus"] += _cpus(name, table["cpus"])
        limits["memory"] += _memory_bytes(name, table["memory"])
    overhead = overhead or {}
    extra = {"cpus": _cpus("the overhead", overhead.get("cpus", 0)),
             "memory": _memory_bytes("the overhead", overhead.get("memory", "0")) if overhead.get("memory") else 0}
    return {
        "cpus": round(limits["cpus"] + extra["cpus"], 3),
        "memory": limits["memory"] + extra["memory"],
        "services": len(resources),
        "limits": {"cpus": round(limits["cpus"], 3), "memory": limits["memory"]},
        "overhead": {"cpus": round(extra["cpus"], 3), "memory": extra["memory"]},
    }


def _vcpu(value):
    return ("%.2f" % value).rstrip("0").rstrip(".") + " vCPU"


def _gib(value):
    return ("%.2f" % (value / _GIB)).rstrip("0").rstrip(".") + " GiB"


def host_fit_errors(resources, host, overhead=None, name="the stack", hint=""):
    """One message when the stack's limits plus overhead exceed the host's processors or memory, else [].

    host: {cpus: processors, memory_mb: MiB of memory} (the facts processor_vcpus, memtotal_mb).
    """
    needs = host_needs(resources, overhead)
    if not isinstance(host, Mapping):
        raise AnsibleFilterError("host_fit_errors: host must be {cpus, memory_mb}")
    cpus = _cpus("the host", host.get("cpus"))
    memory = int(_cpus("the host's memory_mb", host.get("memory_mb"))) * 1024 ** 2
    short = []
    if needs["cpus"] > cpus + 1e-9:
        short.append("%s short" % _vcpu(needs["cpus"] - cpus))
    if needs["memory"] > memory:
        short.append("%s of memory short" % _gib(needs["memory"] - memory))
    if not short:
        return []
    return ["%s needs %s and %s of memory (limits of its %d services: %s, %s; overhead: %s, %s), this host "
            "has %s and %s: %s.%s" % (
                name, _vcpu(needs["cpus"]), _gib(needs["memory"]), needs["services"],
                _vcpu(needs["limits"]["cpus"]), _gib(needs["limits"]["memory"]),
                _vcpu(needs["overhead"]["cpus"]), _gib(needs["overhead"]["memory"]),
                _vcpu(cpus), _gib(memory), " and ".join(short), " " + hint if hint else "")]


def port_clashes(claims):
    """[[owner, port], ...] -> one message per port that two owners ask for (empty ports are skipped)."""
    taken = {}
    errors = []
    for entry in claims:
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise AnsibleFilterError("port_clashes expects a list of [owner, port] items, got %r" % (entry,))
        owner, port = entry
        if port in (None, ""):
            continue
        key = str(port)
        if key in taken:
            errors.append(
                "port %s is wanted by %s and by %s: give one of them another port." % (key, taken[key], owner))
        else:
            taken[key] = owner
    return errors


class FilterModule(object):
    def filters(self):
        return {"host_needs": host_needs, "host_fit_errors": host_fit_errors, "port_clashes": port_clashes}
