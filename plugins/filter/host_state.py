# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare what keel.infra.host_state read with what a role wants."""

import hashlib

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes


def file_differs(state, content=None, mode=None, owner='root', group='root', kind='file', checksum=None):
    """True when a file (or folder) read by host_state is missing or differs in content, mode or owner."""
    if not isinstance(state, dict) or 'exists' not in state:
        raise AnsibleFilterError('file_differs expects one entry of host_state files, got %r' % (state,))
    if not state['exists'] or state.get('type') != kind:
        return True
    if mode is not None and state.get('mode') != '%04o' % int(str(mode), 8):
        return True
    if (owner is not None and state.get('owner') != owner) or (group is not None and state.get('group') != group):
        return True
    if content is not None:
        # The checksum copy and stat compare with, not a security measure.
        checksum = hashlib.sha1(to_bytes(content, errors='surrogate_or_strict')).hexdigest()  # noqa: S324
    return checksum is not None and state.get('checksum') != checksum


def services_to_start(services):
    """The units of host_state's services that are not both active and enabled."""
    if not isinstance(services, dict):
        raise AnsibleFilterError('services_to_start expects the services result of host_state, got %r' % (services,))
    return [name for name, state in services.items()
            if state.get('active') != 'active' or state.get('enabled') not in ('enabled', 'static', 'alias')]


class FilterModule(object):
    def filters(self):
        return {'file_differs': file_differs, 'services_to_start': services_to_start}
