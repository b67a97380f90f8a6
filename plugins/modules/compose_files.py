#!/usr/bin/python
# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: compose_files
short_description: Put a Docker Compose stack's files in place, checked by Compose first
version_added: 0.1.0
description:
  - Makes one stack folder hold its compose file C(compose.yaml) (mode 0640), its C(.env) (0600) and the extra
    files its services mount, in one call.
  - Files whose content, mode, owner and group already match are left alone. When any file differs, the whole new
    set is written into a staging folder and checked there with C(docker compose config --quiet), so a definition
    that refers to an extra file is checked with the new file. Only when Compose accepts the set does each changed
    file replace the live one, by a rename on the same file system; when Compose rejects it, no file of the stack
    folder changes.
  - Says which files changed and which services to restart for them (O(files[].restart)). Bringing the stack up and
    restarting services is left to M(community.docker.docker_compose_v2).
  - The content of O(env) is never returned nor shown in a diff.
author:
  - Keel maintainers (!UNKNOWN)
attributes:
  check_mode:
    support: full
    description:
      - Reports the files that would change and checks the new set with Compose in a scratch folder outside the
        stack folder; changes nothing.
      - When the stack folder does not exist yet, every file would be new and Compose is not asked (a host in
        check mode may not have it installed yet); RV(folder_created) says so.
  diff_mode:
    support: full
    description: Shows the changed files before and after; for C(.env) only that it changed, never its values.
options:
  project_dir:
    description:
      - The stack folder. Created, with missing parents, when it does not exist.
    type: path
    required: true
  project_name:
    description:
      - The Compose project name, used for the check.
    type: str
    required: true
  compose:
    description:
      - Content of C(compose.yaml).
    type: str
    required: true
  env:
    description:
      - Content of C(.env). It may hold secrets; it is never logged, returned or shown in a diff.
    type: str
    default: ''
  files:
    description:
      - Extra files of the stack, such as configuration its services mount.
      - Files that are no longer listed stay in the stack folder.
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description:
          - Path relative to O(project_dir); subfolders are created as needed (mode O(mode)).
          - Not C(compose.yaml) or C(.env), not in C(.staged), and without C(..) parts.
        type: str
        required: true
      content:
        description:
          - Content of the file.
        type: str
        required: true
      mode:
        description:
          - Mode of the file in octal, for example V('0644').
        type: raw
        default: '0644'
      restart:
        description:
          - Services to restart when this file changes; returned in RV(restart).
        type: list
        elements: str
        default: []
  owner:
    description:
      - Owner of the stack folder and its files, a name or a number.
    type: str
    default: root
  group:
    description:
      - Group of the stack folder and its files, a name or a number.
    type: str
    default: root
  mode:
    description:
      - Mode of the stack folder (and of subfolders made for O(files)) in octal.
    type: raw
    default: '0750'
  compare_running:
    description:
      - When no file changes, also compare the running stack with its definition and return RV(in_sync), so that
        a run with nothing to do can skip C(docker compose up) (whose own comparison costs several Compose runs).
    type: bool
    default: false
requirements:
  - The C(docker) command with its Compose plugin on the host, whenever a file is to change.
notes:
  - The staging folder C(.staged) in the stack folder belongs to this module. It is removed at the end of each run,
    and a leftover of an interrupted run (or of an older staging by hand) is removed by the next one.
  - During the check Compose resolves relative paths of the definition against the staging folder, which holds
    C(compose.yaml), C(.env) and O(files); Compose does not require the sources of bind mounts to exist.
seealso:
  - module: community.docker.docker_compose_v2
'''

EXAMPLES = r'''
- name: Put the stack's files in place
  keel.infra.compose_files:
    project_dir: /opt/web
    project_name: web
    compose: "{{ lookup('ansible.builtin.template', 'compose.yaml.j2') }}"
    env: "{{ lookup('ansible.builtin.template', 'env.j2') }}"
    files:
      - dest: nginx.conf
        content: "{{ lookup('ansible.builtin.file', 'nginx.conf') }}"
        restart: [front]
  register: web_files

- name: Bring the stack up
  community.docker.docker_compose_v2:
    project_src: /opt/web
    project_name: web
  when: not (ansible_check_mode and web_files.folder_created)

- name: Restart the services whose files changed
  community.docker.docker_compose_v2:
    project_src: /opt/web
    project_name: web
    state: restarted
    services: "{{ web_files.restart }}"
  when: web_files.restart and not web_files.folder_created
'''

RETURN = r'''
changed_files:
  description:
    - The files that changed (would change, in check mode), relative to O(project_dir); C(compose.yaml) and C(.env)
      first, then O(files) in their order.
  returned: always
  type: list
  elements: str
  sample: [compose.yaml, nginx.conf]
restart:
  description:
    - The services to restart, from O(files[].restart) of the files that changed, each once.
    - When RV(folder_created) is true the stack is new and has nothing to restart.
  returned: always
  type: list
  elements: str
  sample: [front]
folder_created:
  description:
    - Whether the stack folder did not exist (and was created, outside check mode).
  returned: always
  type: bool
in_sync:
  description:
    - With O(compare_running), true when no file changed and the running stack is what C(docker compose up) would
      leave, that is each service of the definition has as many containers as it asks for (C(scale) or
      C(deploy.replicas), else one), each running, healthy where it has a health check, made from the
      definition's current configuration hash and from the image id its image name has now; and no container of
      the project belongs to a service the definition no longer has. False otherwise (and without
      O(compare_running)).
  returned: always
  type: bool
'''

# Imports follow the documentation strings, as in every Ansible module.
import grp  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import stat  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text  # noqa: E402

COMPOSE_FILE = 'compose.yaml'
ENV_FILE = '.env'
STAGING = '.staged'
RESERVED = (COMPOSE_FILE, ENV_FILE)


class StackFile:
    """One file the stack folder must hold."""

    def __init__(self, name, content, mode, restart=(), secret=False):
        self.name = name
        self.content = to_bytes(content, errors='surrogate_or_strict')
        self.mode = mode
        self.restart = list(restart)
        self.secret = secret


def octal_mode(value):
    """A mode from octal text ('0644', '644') or from the number YAML reads 0644 as; None when invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        mode = value
    elif re.match(r'^[0-7]{3,4}$', str(value).strip()):
        mode = int(str(value).strip(), 8)
    else:
        return None
    return mode if 0 <= mode <= 0o7777 else None


def dest_error(dest):
    """Why an extra file's dest is refused, or None."""
    parts = dest.split('/')
    if not dest.strip() or dest.startswith('/') or '..' in parts:
        return 'must be a path relative to the stack folder, without ".." parts'
    name = os.path.normpath(dest)
    if name in RESERVED:
        return 'is managed by the module itself (compose.yaml, .env)'
    if name == '.' or name.split('/')[0] == STAGING:
        return 'must name a file outside the staging folder %s' % STAGING
    return None


def wanted_files(params):
    """The files of the stack (compose.yaml, .env, then the extra files) and the errors in their input."""
    wanted = [StackFile(COMPOSE_FILE, params['compose'], 0o640),
              StackFile(ENV_FILE, params['env'], 0o600, secret=True)]
    errors = []
    seen = set()
    for index, item in enumerate(params['files']):
        label = 'files[%d] (dest %s)' % (index, item['dest'])
        error = dest_error(item['dest'])
        mode = octal_mode(item['mode'])
        if error:
            errors.append('%s %s' % (label, error))
            continue
        name = os.path.normpath(item['dest'])
        if name in seen:
            errors.append('%s names a file another item names too' % label)
        if mode is None:
            errors.append('%s: mode must be octal such as 0644 (got %s)' % (label, item['mode']))
        seen.add(name)
        wanted.append(StackFile(name, item['content'], mode, item['restart']))
    return wanted, errors


def account_id(value, lookup, attribute):
    """A user or group id from a name or a number; None when unknown."""
    if re.match(r'^[0-9]+$', value):
        return int(value)
    try:
        return getattr(lookup(value), attribute)
    except KeyError:
        return None


def file_differs(path, want, uid, gid):
    """Whether the live file at path is not exactly want (content, mode, owner, group)."""
    try:
        st = os.lstat(path)
    except OSError:
        return True
    if not stat.S_ISREG(st.st_mode):
        return True
    if (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) != (want.mode, uid, gid) or st.st_size != len(want.content):
        return True
    with open(path, 'rb') as handle:
        return handle.read() != want.content


def attributes(mode, uid, gid):
    return '(mode %04o, owner %d:%d)' % (mode, uid, gid)


def file_diff(folder, want, uid, gid):
    """before/after of one changed file for diff mode; for a secret file only that it changed."""
    path = os.path.join(folder, want.name)
    before, before_attributes = '', '(absent)'
    if os.path.lexists(path):
        st = os.lstat(path)
        before_attributes = attributes(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        with open(path, 'rb') as handle:
            before = to_text(handle.read(), errors='surrogate_or_replace')
    after, after_attributes = to_text(want.content, errors='surrogate_or_replace'), attributes(want.mode, uid, gid)
    if before == after:
        # Only the mode or the owner changed: say so in the text, or the diff would show nothing.
        before, after = before_attributes + '\n', after_attributes + '\n'
    elif want.secret:
        before = '(values not shown)\n' if before_attributes != '(absent)' else ''
        after = '(new values not shown)\n'
    return dict(before=before, after=after, before_header='%s %s' % (want.name, before_attributes),
                after_header='%s %s' % (want.name, after_attributes))


def folder_diff(folder, created, mode, uid, gid):
    before = ''
    if not created:
        st = os.stat(folder)
        before = 'folder %s\n' % attributes(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return dict(before=before, after='folder %s\n' % attributes(mode, uid, gid), before_header=folder,
                after_header=folder)


class Folder:
    """Makes folders and writes files with one owner and group."""

    def __init__(self, uid, gid, mode):
        self.uid = uid
        self.gid = gid
        self.mode = mode

    def attributes_differ(self, path):
        st = os.stat(path)
        return (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) != (self.mode, self.uid, self.gid)

    def set_attributes(self, path, mode):
        os.chown(path, self.uid, self.gid)
        os.chmod(path, mode)  # after chown, which clears set-id bits

    def make(self, path, mode=None):
        """path and its missing parents up to an existing folder, with this owner and mode."""
        missing = []
        while not os.path.isdir(path):
            missing.append(path)
            path = os.path.dirname(path)
        for folder in reversed(missing):
            os.mkdir(folder, 0o700)
            self.set_attributes(folder, self.mode if mode is None else mode)

    def write(self, path, want):
        self.make(os.path.dirname(path))
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchown(handle, self.uid, self.gid)
            os.fchmod(handle, want.mode)
            view = memoryview(want.content)
            while view:
                view = view[os.write(handle, view):]
            os.fsync(handle)
        finally:
            os.close(handle)


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def compose_check(module, staging, project_name):
    """rc, stdout, stderr of `docker compose config --quiet` on the staged set."""
    docker = module.get_bin_path('docker', required=True)
    return module.run_command([
        docker, 'compose',
        '--project-name', project_name,
        '--project-directory', staging,
        '--env-file', os.path.join(staging, ENV_FILE),
        '--file', os.path.join(staging, COMPOSE_FILE),
        'config', '--quiet',
    ])


def compose_run(module, folder, project_name, *args):
    """stdout of a Compose command on the live stack folder; None when it fails."""
    docker = module.get_bin_path('docker')
    if docker is None:
        return None
    rc, out, dummy = module.run_command([
        docker, 'compose',
        '--project-name', project_name,
        '--project-directory', folder,
        '--env-file', os.path.join(folder, ENV_FILE),
        '--file', os.path.join(folder, COMPOSE_FILE),
    ] + list(args))
    return out if rc == 0 else None


def json_lines(text):
    """Compose prints `ps --format json` as one array (older) or one object per line (newer)."""
    text = (text or '').strip()
    if text.startswith('['):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def labels_of(container):
    labels = container.get('Labels') or ''
    if isinstance(labels, dict):
        return labels
    return dict(item.split('=', 1) for item in labels.split(',') if '=' in item)


def wanted_count(service):
    deploy = service.get('deploy') or {}
    for value in (service.get('scale'), deploy.get('replicas')):
        if value is not None:
            return int(value)
    return 1


def stack_in_sync(config, hashes, containers, image_ids):
    """Whether `docker compose up` would leave the running stack as it is (see RETURN in_sync)."""
    services = config.get('services') or {}
    by_service = {}
    for container in containers:
        by_service.setdefault(container.get('Service'), []).append(container)
    if set(by_service) - set(services):
        return False
    for name, service in services.items():
        running = by_service.get(name, [])
        if len(running) != wanted_count(service):
            return False
        for container in running:
            labels = labels_of(container)
            if container.get('State') != 'running' or container.get('Health') not in ('', None, 'healthy'):
                return False
            if labels.get('com.docker.compose.config-hash') != hashes.get(name):
                return False
            if labels.get('com.docker.compose.image') != image_ids.get(service.get('image')):
                return False
    return True


def running_in_sync(module, folder, project_name):
    """Reads the definition, the configuration hashes, the containers and the image ids, then compares."""
    config = compose_run(module, folder, project_name, 'config', '--format', 'json')
    hashes = compose_run(module, folder, project_name, 'config', '--hash', '*')
    containers = compose_run(module, folder, project_name, 'ps', '--all', '--format', 'json')
    if config is None or hashes is None or containers is None:
        return False
    try:
        config = json.loads(config)
        containers = json_lines(containers)
    except ValueError:
        return False
    hashes = dict(line.split(None, 1) for line in hashes.splitlines() if len(line.split(None, 1)) == 2)
    images = sorted(set(service.get('image') for service in (config.get('services') or {}).values()
                        if service.get('image')))
    image_ids = {}
    if images:
        rc, out, dummy = module.run_command(
            [module.get_bin_path('docker', required=True), 'image', 'inspect', '--format', '{{.Id}}'] + images)
        if rc != 0:
            return False
        ids = out.split()
        image_ids = dict((image, ids[index]) for index, image in enumerate(images) if index < len(ids))
    return stack_in_sync(config, hashes, containers, image_ids)


def stage_and_check(module, writer, staging, wanted, result):
    """Writes the whole set into staging and fails, with staging removed, when Compose rejects it."""
    remove(staging)
    writer.make(staging, 0o700)
    try:
        for want in wanted:
            writer.write(os.path.join(staging, want.name), want)
        rc, out, err = compose_check(module, staging, module.params['project_name'])
    except Exception:
        remove(staging)
        raise
    if rc != 0:
        remove(staging)
        module.fail_json(
            msg="docker compose config rejected the new definition of stack '%s': %s. The running stack and its "
                "files in %s are unchanged; fix the definition or its values."
                % (module.params['project_name'], (err or out).strip(), module.params['project_dir']),
            rc=rc, stdout=out, stderr=err, **result)


def checked_input(params, folder):
    """The files, owner, group and folder mode asked for, and every error in them, before anything changes."""
    wanted, errors = wanted_files(params)
    uid = account_id(params['owner'], pwd.getpwnam, 'pw_uid')
    gid = account_id(params['group'], grp.getgrnam, 'gr_gid')
    folder_mode = octal_mode(params['mode'])
    if uid is None:
        errors.append('owner %s is not a user of the host' % params['owner'])
    if gid is None:
        errors.append('group %s is not a group of the host' % params['group'])
    if folder_mode is None:
        errors.append('mode must be octal such as 0750 (got %s)' % params['mode'])
    if os.path.lexists(folder) and not os.path.isdir(folder):
        errors.append('project_dir %s exists and is not a folder' % folder)
    for want in wanted:
        if os.path.isdir(os.path.join(folder, want.name)):
            # Docker makes a folder where a service mounts a file that does not exist yet.
            errors.append('%s is a folder in %s, where the stack needs a file; remove it' % (want.name, folder))
    return wanted, uid, gid, folder_mode, errors


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type='path', required=True),
            project_name=dict(type='str', required=True),
            compose=dict(type='str', required=True),
            env=dict(type='str', default='', no_log=True),
            files=dict(type='list', elements='dict', default=[], options=dict(
                dest=dict(type='str', required=True),
                content=dict(type='str', required=True),
                mode=dict(type='raw', default='0644'),
                restart=dict(type='list', elements='str', default=[]),
            )),
            owner=dict(type='str', default='root'),
            group=dict(type='str', default='root'),
            mode=dict(type='raw', default='0750'),
            compare_running=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    folder = params['project_dir'].rstrip('/') or '/'
    wanted, uid, gid, folder_mode, errors = checked_input(params, folder)
    if errors:
        module.fail_json(msg='; '.join(errors))

    writer = Folder(uid, gid, folder_mode)
    folder_created = not os.path.isdir(folder)
    folder_fixed = not folder_created and writer.attributes_differ(folder)
    changed = [want for want in wanted
               if folder_created or file_differs(os.path.join(folder, want.name), want, uid, gid)]
    restart = []
    for want in changed:
        restart.extend(service for service in want.restart if service not in restart)
    result = dict(changed=folder_created or folder_fixed or bool(changed), folder_created=folder_created,
                  changed_files=[want.name for want in changed], restart=restart, in_sync=False)
    if params['compare_running'] and not folder_created and not changed:
        result['in_sync'] = running_in_sync(module, folder, params['project_name'])
    if module._diff:
        result['diff'] = [file_diff(folder, want, uid, gid) for want in changed]
        if folder_created or folder_fixed:
            result['diff'].insert(0, folder_diff(folder, folder_created, folder_mode, uid, gid))

    try:
        if module.check_mode:
            # Checked in a scratch folder of the module's own: the stack folder stays as it is.
            if changed and not folder_created:
                scratch = os.path.join(module.tmpdir, STAGING)
                stage_and_check(module, Folder(os.getuid(), os.getgid(), 0o700), scratch, wanted, result)
                remove(scratch)
            module.exit_json(**result)
        put_in_place(module, writer, folder, wanted, changed, result)
    except (IOError, OSError) as exc:
        module.fail_json(msg='could not put the files of %s in place: %s' % (folder, to_native(exc)), **result)
    module.exit_json(**result)


def put_in_place(module, writer, folder, wanted, changed, result):
    if result['folder_created']:
        parent = os.path.dirname(folder)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        writer.make(folder)
    elif writer.attributes_differ(folder):
        writer.set_attributes(folder, writer.mode)
    staging = os.path.join(folder, STAGING)
    if changed:
        stage_and_check(module, writer, staging, wanted, result)
        for want in changed:
            writer.make(os.path.dirname(os.path.join(folder, want.name)))
            os.rename(os.path.join(staging, want.name), os.path.join(folder, want.name))
    remove(staging)


if __name__ == '__main__':
    main()
