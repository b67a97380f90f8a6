# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put CPU and memory limits, kept as a table per service, into a compose definition."""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.module_utils import _rules

_KEYS = ("cpus", "memory")


def _check_value(service, key, value):
    if key == "cpus":
        try:
            ok = float(value) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise AnsibleFilterError("compose_limits: %s.cpus must be a positive number, got %r" % (service, value))
        return str(value)
    reason = _rules.docker_size(value)  # the sizes the engine reads, as the roles' input checks take them
    if reason:
        raise AnsibleFilterError("compose_limits: %s.memory %r %s" % (service, value, reason))
    return str(value)


def _plain(value):
    """A plain copy of a definition. Reading each item lets Ansible render the templates it still holds
    (copy.deepcopy of Ansible's lazily rendered containers breaks the filters inside them, e.g. map)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def compose_limits(definition, resources):
    """Return a copy of ``definition`` with ``resources`` as deploy.resources.limits/reservations.

    ``resources`` maps a service name to ``{cpus, memory}`` (limits) and optionally
    ``reservations: {cpus, memory}``. Unknown services and keys are errors, so a
    typo in a resource table cannot silently leave a service unlimited.
    """
    if not isinstance(definition, dict) or not isinstance(definition.get("services"), dict):
        raise AnsibleFilterError("compose_limits: the compose definition needs a 'services' mapping")
    if not resources:
        return definition
    if not isinstance(resources, dict):
        raise AnsibleFilterError("compose_limits: resources must map service names to {cpus, memory}")
    unknown = sorted(set(resources) - set(definition["services"]))
    if unknown:
        raise AnsibleFilterError(
            "compose_limits: resources name services the definition does not have: %s (services: %s)"
            % (", ".join(unknown), ", ".join(sorted(definition["services"])))
        )
    result = _plain(definition)
    for service, table in resources.items():
        if not isinstance(table, dict):
            raise AnsibleFilterError("compose_limits: %s must be a mapping of cpus/memory" % service)
        extra = sorted(set(table) - set(_KEYS) - {"reservations"})
        if extra:
            raise AnsibleFilterError(
                "compose_limits: %s has unknown key(s) %s; use cpus, memory, reservations" % (service, ", ".join(extra))
            )
        deploy = result["services"][service].setdefault("deploy", {})
        res = deploy.setdefault("resources", {})
        limits = {k: _check_value(service, k, table[k]) for k in _KEYS if k in table}
        if limits:
            res.setdefault("limits", {}).update(limits)
        reservations = table.get("reservations") or {}
        wanted = {k: _check_value(service, k, reservations[k]) for k in _KEYS if k in reservations}
        if wanted:
            res.setdefault("reservations", {}).update(wanted)
    return result


class FilterModule(object):
    """Compose definition filters."""

    def filters(self):
        return {"compose_limits": compose_limits}
