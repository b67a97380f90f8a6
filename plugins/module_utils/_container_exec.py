# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a service's own command line tools, inside its container or on the host.

Modules that drive a service through its CLI (kafka_topic, the Fabric modules)
share this: the options of the ``keel.infra.container_exec`` doc fragment, and
one way of building the ``docker exec`` command line with its environment.
"""


def container_exec_argument_spec():
    """The options documented by the keel.infra.container_exec doc fragment."""
    return dict(
        container=dict(type='str'),
        docker_executable=dict(type='str', default='docker'),
    )


class ContainerExec(object):
    """Runs commands in O(container) with ``docker exec``, or on the managed host when it is unset."""

    def __init__(self, module, env=None):
        self.module = module
        self.container = module.params.get('container')
        self.docker = module.params.get('docker_executable') or 'docker'
        self.env = dict((str(k), str(v)) for k, v in (env or {}).items())

    def argv(self, command, env=None):
        """The command line that runs ``command`` with the tool environment plus ``env``."""
        merged = dict(self.env, **dict((str(k), str(v)) for k, v in (env or {}).items()))
        if not self.container:
            return list(command)
        prefix = [self.module.get_bin_path(self.docker, required=True), 'exec']
        for key in sorted(merged):
            prefix += ['-e', '%s=%s' % (key, merged[key])]
        return prefix + [self.container] + list(command)

    def run(self, command, env=None):
        """Run ``command``; returns (rc, stdout, stderr)."""
        argv = self.argv(command, env)
        environ = None
        if not self.container:
            environ = dict(self.env, **dict((str(k), str(v)) for k, v in (env or {}).items()))
        return self.module.run_command(argv, environ_update=environ)
