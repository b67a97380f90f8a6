# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's input rules for roles: messages that name the variable, its value and what to set."""

from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.module_utils import _rules


def input_errors(checks):
    """[[name, value, rule], ...] -> one message per value that breaks its rule."""
    if not isinstance(checks, (list, tuple)) or not all(
            isinstance(entry, (list, tuple)) and len(entry) in (3, 4) for entry in checks):
        raise AnsibleFilterError(
            "input_errors expects a list of [variable name, value, rule] items, 'secret' as an optional fourth")
    try:
        return _rules.input_errors(checks)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule(object):
    def filters(self):
        return {'input_errors': input_errors}
