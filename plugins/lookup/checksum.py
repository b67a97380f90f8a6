# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
name: checksum
version_added: 0.1.0
short_description: SHA-1 of files on the controller
description:
  - Returns the SHA-1 of each file, read on the controller, the checksum M(ansible.builtin.copy) and
    M(keel.infra.host_state) use. A role compares it with the host's file and copies only when they differ,
    without the two module calls M(ansible.builtin.copy) needs to find that nothing changed.
  - Each file is read once per run (the result is kept by path, size and modification time).
author:
  - Keel maintainers (!UNKNOWN)
options:
  _terms:
    description:
      - Paths of files on the controller, found as M(ansible.builtin.copy) finds its
        O(ansible.builtin.copy#module:src).
    required: true
'''

EXAMPLES = r'''
- name: Copy the plugin only where it differs
  ansible.builtin.copy:
    src: "{{ plugin }}"
    dest: /usr/libexec/docker/cli-plugins/docker-compose
    mode: "0755"
  when: __state.files[dest] | keel.infra.file_differs(checksum=lookup('keel.infra.checksum', plugin), mode='0755')
'''

RETURN = r'''
_raw:
  description: The SHA-1 of each file, as 40 hexadecimal digits.
  type: list
  elements: str
'''

import hashlib  # noqa: E402
import os  # noqa: E402

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

_SEEN = {}


def sha1_of(path):
    info = os.stat(path)
    key = (path, info.st_size, info.st_mtime_ns)
    if key not in _SEEN:
        digest = hashlib.sha1()  # noqa: S324 - copy's checksum, not a security measure
        with open(path, 'rb') as handle:
            for block in iter(lambda: handle.read(1 << 20), b''):
                digest.update(block)
        _SEEN[key] = digest.hexdigest()
    return _SEEN[key]


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        result = []
        for term in terms:
            # Found where ansible.builtin.copy finds its src: role files/, playbook folder, absolute paths.
            path = self.find_file_in_search_path(variables, 'files', str(term), ignore_missing=True)
            if path is None:
                raise AnsibleLookupError('cannot find %s on the controller' % term)
            try:
                result.append(sha1_of(path))
            except (IOError, OSError) as exc:
                raise AnsibleLookupError('cannot read %s on the controller: %s' % (path, exc)) from exc
        return result
