# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A channel's configuration read, changed and updated through Fabric's CLIs in the tools container.

The machinery of the modules that make config updates (fabric_channel_members,
fabric_channel_consenter): fetch the config block as an organization's admin,
decode and encode with configtxlator, compute the update. What the update
changes is theirs (pure functions of _fabric_config).
"""

import json
import os

from ansible_collections.keel.infra.plugins.module_utils._container_exec import (
    ContainerExec,
    container_exec_argument_spec,
)
from ansible_collections.keel.infra.plugins.module_utils._fabric_cli import cli_error, orderer_args
from ansible_collections.keel.infra.plugins.module_utils._fabric_config import channel_config, envelope


def channel_update_argument_spec(**options):
    """The options of the keel.infra.fabric_channel_update and keel.infra.container_exec doc fragments, plus a
    module's own ``options``."""
    spec = dict(
        channel=dict(type='str', required=True),
        msp_id=dict(type='str', required=True),
        msp_path=dict(type='path', required=True),
        orderer_address=dict(type='str', required=True),
        orderer_tls_root_cert=dict(type='path', required=True),
        work_dir=dict(type='path', required=True),
    )
    spec.update(container_exec_argument_spec())
    spec.update(options)
    return spec


class ChannelConfigTool(object):
    """One channel's configuration, as one organization's admin (params msp_id, msp_path, orderer_address,
    orderer_tls_root_cert, work_dir and the container_exec options); ``self.result`` goes into every exit."""

    def __init__(self, module, result):
        self.module = module
        self.p = module.params
        self.tools = ContainerExec(module)
        self.env = {'CORE_PEER_LOCALMSPID': self.p['msp_id'], 'CORE_PEER_MSPCONFIGPATH': self.p['msp_path']}
        self.orderer = orderer_args(self.p['orderer_address'], self.p['orderer_tls_root_cert'])
        self.result = result

    def path(self, name):
        return os.path.join(self.p['work_dir'], name)

    def run_tool(self, args, what, env=None):
        rc, out, err = self.tools.run(args, env=env)
        if rc != 0:
            self.module.fail_json(msg='could not %s: %s' % (what, cli_error(out, err)), rc=rc, stdout=out,
                                  stderr=err, **self.result)
        return out

    def decode(self, path, kind):
        out = self.run_tool(['configtxlator', 'proto_decode', '--input', path, '--type', kind], 'read %s' % path)
        return json.loads(out)

    def encode(self, data, path, kind):
        with open(path + '.json', 'w') as handle:
            json.dump(data, handle, sort_keys=True)
        self.run_tool(['configtxlator', 'proto_encode', '--input', path + '.json', '--type', kind, '--output', path],
                      'write %s' % path)

    def fetch_config(self, channel):
        """The channel's current Config, from its latest config block (kept as work_dir/config.block)."""
        if not os.path.isdir(self.p['work_dir']):
            os.makedirs(self.p['work_dir'], 0o755)
        self.run_tool(['peer', 'channel', 'fetch', 'config', self.path('config.block'), '-c', channel]
                      + self.orderer, 'fetch the configuration of %s' % channel, env=self.env)
        return channel_config(self.decode(self.path('config.block'), 'common.Block'))

    def compute_update(self, channel, original, updated):
        """The decoded ConfigUpdate from ``original`` to ``updated`` (both decoded Configs)."""
        self.encode(original, self.path('original.pb'), 'common.Config')
        self.encode(updated, self.path('updated.pb'), 'common.Config')
        self.run_tool(['configtxlator', 'compute_update', '--channel_id', channel, '--original',
                       self.path('original.pb'), '--updated', self.path('updated.pb'), '--output',
                       self.path('config_update.pb')], 'compute the update')
        return self.decode(self.path('config_update.pb'), 'common.ConfigUpdate')

    def submit(self, channel, update_file):
        """Submit an update envelope to the orderer, signed by this admin (`peer channel update` signs it)."""
        self.run_tool(['peer', 'channel', 'update', '-f', update_file, '-c', channel] + self.orderer,
                      'submit the update of %s' % channel, env=self.env)

    def update(self, channel, original, updated):
        """Compute the update from ``original`` to ``updated`` and, unless in check mode, submit it signed by this
        admin alone (an update whose policy this organization satisfies by itself); True when submitted."""
        config_update = self.compute_update(channel, original, updated)
        if self.module.check_mode:
            return False
        self.encode(envelope(channel, config_update), self.path('update.pb'), 'common.Envelope')
        self.submit(channel, self.path('update.pb'))
        return True
