#!/usr/bin/python
# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: host_state
short_description: Read, in one call, the packages, files, services, accounts and images a role manages
version_added: 0.1.0
description:
  - Reads the state of everything asked for and changes nothing. A role reads what it manages once, then
    runs a module only for what differs, instead of one module call per item just to find that nothing
    differs.
  - Packages from the dpkg database, files with C(lstat) (and the SHA-1 of regular files), services with
    C(systemctl show), accounts from the user and group databases, images with C(docker image inspect).
  - The filter P(keel.infra.file_differs#filter) compares a file of the result with the content, mode and
    owner a role wants.
author:
  - Keel maintainers (!UNKNOWN)
options:
  packages:
    description: Debian package names. Each is reported with its installed version, or null.
    type: list
    elements: str
    default: []
  files:
    description: Absolute paths. Each is reported with its type, mode, owner, group, SHA-1 (regular files) and
      link target (symbolic links); C(exists=false) when missing.
    type: list
    elements: path
    default: []
  read:
    description: Absolute paths of small text files whose content is returned (null when missing).
    type: list
    elements: path
    default: []
  services:
    description: systemd units. Each is reported with its C(ActiveState) and C(UnitFileState).
    type: list
    elements: str
    default: []
  users:
    description: Account names. Each is reported with whether it exists and its groups.
    type: list
    elements: str
    default: []
  images:
    description: Container image references. Each is reported with its image id, or null when the engine
      does not have it (or there is no engine).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module never changes anything.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
'''

EXAMPLES = r'''
- name: Read what the role manages
  keel.infra.host_state:
    packages: [docker.io, python3-requests]
    files: [/etc/docker/daemon.json]
    services: [docker]
    users: [deploy]
    images: ["apache/kafka:4.1.2"]
  register: __state

- name: Install the packages that are missing
  ansible.builtin.apt:
    name: "{{ __state.packages | dict2items | rejectattr('value') | map(attribute='key') | list }}"
  when: __state.packages.values() | select('none') | list | length > 0
'''

RETURN = r'''
packages:
  description: Package name to installed version, null when it is not installed.
  returned: always
  type: dict
  sample: {"docker.io": "20.10.24+dfsg1-1+deb12u1", "curl": null}
files:
  description: Path to its state.
  returned: always
  type: dict
  sample:
    /etc/docker/daemon.json: {"exists": true, "type": "file", "mode": "0644", "owner": "root", "group": "root",
                              "checksum": "0b5d2c1f0e4b2c7b84bd4b4d4f1a0c2b7c4e1d3a"}
    /etc/localtime: {"exists": true, "type": "link", "mode": "0777", "owner": "root", "group": "root",
                     "target": "/usr/share/zoneinfo/Etc/UTC"}
    /missing: {"exists": false}
contents:
  description: Path of each O(read) file to its text, null when it is missing.
  returned: always
  type: dict
services:
  description: Unit to its C(active) (ActiveState) and C(enabled) (UnitFileState) values.
  returned: always
  type: dict
  sample: {"docker": {"active": "active", "enabled": "enabled"}}
users:
  description: Account to C(exists) and C(groups) (primary and supplementary group names).
  returned: always
  type: dict
  sample: {"deploy": {"exists": true, "groups": ["deploy", "docker"]}}
images:
  description: Image reference to its id, null when the engine does not have it.
  returned: always
  type: dict
  sample: {"apache/kafka:4.1.2": "sha256:a251273ca273b7fe0b2c7d458e1bb14df26bb3ad2711d03f6b7310b421337100"}
'''

import grp
import hashlib
import json
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.keel.infra.plugins.module_utils._image_ref import ImageRefError, normalize_image_ref

TYPES = ((stat.S_ISREG, 'file'), (stat.S_ISDIR, 'directory'), (stat.S_ISLNK, 'link'))


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def sha1(path):
    digest = hashlib.sha1()  # noqa: S324 - the checksum copy and stat use, not a security measure
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def file_state(path):
    try:
        info = os.lstat(path)
    except OSError:
        return {'exists': False}
    kind = next((name for test, name in TYPES if test(info.st_mode)), 'other')
    state = {
        'exists': True,
        'type': kind,
        'mode': '%04o' % stat.S_IMODE(info.st_mode),
        'owner': user_name(info.st_uid),
        'group': group_name(info.st_gid),
    }
    if kind == 'file':
        state['checksum'] = sha1(path)
    elif kind == 'link':
        state['target'] = os.readlink(path)
    return state


def read_text(path):
    try:
        with open(path, 'rb') as handle:
            return to_native(handle.read(), errors='surrogate_or_replace')
    except (IOError, OSError):
        return None


def parse_packages(names, out):
    """dpkg-query lines 'name<TAB>status<TAB>version' -> name: version of installed packages, else None."""
    installed = {}
    for line in out.splitlines():
        fields = line.split('\t')
        if len(fields) == 3 and fields[1].endswith(' installed'):
            installed[fields[0].split(':')[0]] = fields[2]
    return dict((name, installed.get(name)) for name in names)


def package_state(module, names):
    if not names:
        return {}
    dpkg = module.get_bin_path('dpkg-query')
    if dpkg is None:
        return dict((name, None) for name in names)
    # dpkg-query exits 1 when a name is unknown; the known ones are still listed.
    out = module.run_command([dpkg, '-W', '-f', '${Package}\t${Status}\t${Version}\n'] + list(names))[1]
    return parse_packages(names, out)


def parse_services(names, out):
    """`systemctl show` blocks (one per unit, blank-line separated) -> unit: {active, enabled}."""
    blocks = out.strip().split('\n\n') if out.strip() else []
    result = {}
    for index, name in enumerate(names):
        block = blocks[index] if index < len(blocks) else ''
        values = dict(line.split('=', 1) for line in block.splitlines() if '=' in line)
        result[name] = {'active': values.get('ActiveState', ''), 'enabled': values.get('UnitFileState', '')}
    for name in names:
        result.setdefault(name, {'active': '', 'enabled': ''})
    return result


def service_state(module, names):
    if not names:
        return {}
    systemctl = module.get_bin_path('systemctl')
    if systemctl is None:
        return parse_services(names, '')
    out = module.run_command([systemctl, 'show', '--property=ActiveState,UnitFileState', '--'] + list(names))[1]
    return parse_services(names, out)


def user_state(names):
    result = {}
    for name in names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            result[name] = {'exists': False, 'groups': []}
            continue
        groups = [group_name(entry.pw_gid)]
        groups.extend(group.gr_name for group in grp.getgrall() if name in group.gr_mem and group.gr_name not in groups)
        result[name] = {'exists': True, 'groups': groups}
    return result


def image_state(module, names):
    if not names:
        return {}
    docker = module.get_bin_path('docker')
    result = dict((name, None) for name in names)
    if docker is None:
        return result
    # One inspect for all: unknown references are left out of the JSON array (and exit 1).
    out = module.run_command([docker, 'image', 'inspect', '--format', '{{json .}}'] + list(names))[1]
    for line in out.splitlines():
        try:
            image = json.loads(line)
        except ValueError:
            continue
        tags = set(normalized(tag) for tag in image.get('RepoTags') or [])
        for name in names:
            if normalized(name) in tags or name == image.get('Id'):
                result[name] = image.get('Id')
    return result


def normalized(ref):
    try:
        return normalize_image_ref(ref)
    except ImageRefError:
        return ref


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type='list', elements='str', default=[]),
            files=dict(type='list', elements='path', default=[]),
            read=dict(type='list', elements='path', default=[]),
            services=dict(type='list', elements='str', default=[]),
            users=dict(type='list', elements='str', default=[]),
            images=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    module.exit_json(
        changed=False,
        packages=package_state(module, params['packages']),
        files=dict((path, file_state(path)) for path in params['files']),
        contents=dict((path, read_text(path)) for path in params['read']),
        services=service_state(module, params['services']),
        users=user_state(params['users']),
        images=image_state(module, params['images']),
    )


if __name__ == '__main__':
    main()
