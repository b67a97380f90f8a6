#!/usr/bin/python
# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: fabric_orderer_channel
version_added: 0.1.0
short_description: Membership of a Hyperledger Fabric orderer in a channel, through the channel participation API
description:
  - Asks the orderer's admin endpoint (mutual TLS) with C(osnadmin channel list) whether it is a member of
    O(channel); joins it with the channel's config block when it is not, or removes it with O(state=absent).
  - An orderer that is already a member is left alone, so the task is idempotent.
author: Keel maintainers (@keel-maintainers)
extends_documentation_fragment:
  - keel.infra.container_exec
attributes:
  check_mode:
    support: full
    description: Asks the orderer, joins or removes nothing.
  diff_mode:
    support: none
    description: RV(channel) shows the orderer's view of the channel.
options:
  channel:
    description: Name of the channel.
    type: str
    required: true
  state:
    description: V(present) joins the orderer to the channel, V(absent) removes it.
    type: str
    default: present
    choices: [present, absent]
  config_block:
    description:
      - The channel's genesis (or latest config) block, as seen where the tools run. Needed to join.
    type: path
  admin_endpoint:
    description: The orderer's admin endpoint, C(host:port), as seen where the tools run.
    type: str
    required: true
  ca_file:
    description: TLS CA certificate that signed the admin endpoint's server certificate.
    type: path
    required: true
  client_cert:
    description: TLS client certificate of an identity the admin endpoint trusts.
    type: path
    required: true
  client_key:
    description: Private key of O(client_cert).
    type: path
    required: true
notes:
  - O(container) is a container with Fabric's tools (the C(hyperledger/fabric-tools) image) that reaches the
    admin endpoint and sees the certificate files.
'''

EXAMPLES = r'''
- name: Orderer1 is a member of the thermotrace channel
  keel.infra.fabric_orderer_channel:
    channel: thermotrace
    config_block: /var/lib/keel/fabric/channels/thermotrace/genesis.block
    admin_endpoint: orderer1.orderer.example.com:8053
    ca_file: /var/lib/keel/fabric/orderer.example.com/tlsca/tlsca.crt
    client_cert: /var/lib/keel/fabric/orderer.example.com/admins/admin.orderer.example.com/tls/client.crt
    client_key: /var/lib/keel/fabric/orderer.example.com/admins/admin.orderer.example.com/tls/client.key
    container: fabric-tools
'''

RETURN = r'''
channel:
  description: The orderer's view of the channel after the task (empty when it is not a member).
  returned: always
  type: dict
  sample: {name: thermotrace, status: active, consensusRelation: consenter, height: 3}
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.keel.infra.plugins.module_utils._container_exec import (  # noqa: E402
    ContainerExec,
    container_exec_argument_spec,
)
from ansible_collections.keel.infra.plugins.module_utils._fabric_cli import (  # noqa: E402
    FabricCliError,
    cli_error,
    parse_osnadmin,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            channel=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            config_block=dict(type='path'),
            admin_endpoint=dict(type='str', required=True),
            ca_file=dict(type='path', required=True),
            client_cert=dict(type='path', required=True),
            client_key=dict(type='path', required=True),
            **container_exec_argument_spec()
        ),
        required_if=[('state', 'present', ['config_block'])],
        supports_check_mode=True,
    )
    p = module.params
    tools = ContainerExec(module)
    conn = ['-o', p['admin_endpoint'], '--ca-file', p['ca_file'], '--client-cert', p['client_cert'],
            '--client-key', p['client_key']]

    def osnadmin(args, what):
        rc, out, err = tools.run(['osnadmin', 'channel'] + args + conn)
        try:
            return parse_osnadmin(out)
        except FabricCliError:
            module.fail_json(msg='could not %s on %s: %s' % (what, p['admin_endpoint'], cli_error(out, err)),
                             rc=rc, stdout=out, stderr=err)

    status, body = osnadmin(['list', '--channelID', p['channel']], 'ask for channel %s' % p['channel'])
    member = status == 200
    if status not in (200, 404):
        module.fail_json(msg='orderer %s answered %d about channel %s: %s'
                         % (p['admin_endpoint'], status, p['channel'], body.get('error', body)))
    wanted = p['state'] == 'present'
    if member == wanted or module.check_mode:
        module.exit_json(changed=member != wanted, channel=body if member else {})
    if wanted:
        status, body = osnadmin(['join', '--channelID', p['channel'], '--config-block', p['config_block']],
                                'join channel %s' % p['channel'])
        if status != 201:
            module.fail_json(msg='orderer %s refused to join channel %s (%d): %s'
                             % (p['admin_endpoint'], p['channel'], status, body.get('error', body)))
        module.exit_json(changed=True, channel=body)
    status, body = osnadmin(['remove', '--channelID', p['channel']], 'remove channel %s' % p['channel'])
    if status != 204:
        module.fail_json(msg='orderer %s refused to leave channel %s (%d): %s'
                         % (p['admin_endpoint'], p['channel'], status, body.get('error', body)))
    module.exit_json(changed=True, channel={})


if __name__ == '__main__':
    main()
