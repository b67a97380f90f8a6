#!/usr/bin/python
# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: fabric_channel_anchors
version_added: 0.1.0
short_description: Set an organization's anchor peers in a running Hyperledger Fabric channel
description:
  - Reads the channel's current configuration from an orderer (C(peer channel fetch config)) and compares the anchor
    peers of organization O(msp_id) with O(anchor_peers). When they differ (a peer moved to another port, an anchor
    added or dropped), one config update (C(configtxlator compute_update)) sets them, signed and submitted by that
    organization's admin (C(peer channel update)); the C(AnchorPeers) value's C(Admins) policy is the organization's
    own, so no other organization signs.
  - The same peers in another order are no change. An organization that is not in the channel fails the task.
extends_documentation_fragment:
  - keel.infra.container_exec
  - keel.infra.fabric_channel_update
options:
  anchor_peers:
    description: The organization's anchor peers, C(host:port) each, as the other organizations' peers reach them.
    type: list
    elements: str
    required: true
author: Keel maintainers (@keel-maintainers)
'''

EXAMPLES = r'''
- name: MRO Lab's anchor peer is its peer at its new port
  keel.infra.fabric_channel_anchors:
    channel: thermotrace
    anchor_peers: [peer0.mrolab.thermotrace.example:9151]
    msp_id: MROLabMSP
    msp_path: /var/lib/keel/fabric/mrolab.thermotrace.example/admins/admin.mrolab.thermotrace.example/msp
    orderer_address: orderer1.orderer.thermotrace.example:8050
    orderer_tls_root_cert: /var/lib/keel/fabric/orderer.thermotrace.example/tlsca/tlsca.crt
    work_dir: /var/lib/keel/fabric/channels/thermotrace/anchors-MROLabMSP
    container: thermotrace-tools
'''

RETURN = r'''
before:
  description: The organization's anchor peers in the channel before this task, C(host:port) each.
  returned: always
  type: list
  elements: str
after:
  description: Its anchor peers as the update makes them (O(anchor_peers)).
  returned: always
  type: list
  elements: str
submitted:
  description: Whether this task submitted an update.
  returned: always
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.keel.infra.plugins.module_utils._fabric_config import (  # noqa: E402
    anchor_peers,
    with_anchor_peers,
)
from ansible_collections.keel.infra.plugins.module_utils._fabric_update import (  # noqa: E402
    ChannelConfigTool,
    channel_update_argument_spec,
)


class Anchors(ChannelConfigTool):
    def __init__(self, module):
        super(Anchors, self).__init__(module, {'before': [], 'after': [], 'submitted': False})

    def main(self):
        p = self.p
        config = self.fetch_config(p['channel'])
        try:
            self.result['before'] = anchor_peers(config, p['msp_id'])
            updated = with_anchor_peers(config, p['msp_id'], p['anchor_peers'])
        except ValueError as exc:
            self.module.fail_json(msg='channel %s: %s' % (p['channel'], exc), **self.result)
        self.result['after'] = list(p['anchor_peers'])
        if updated is config:
            self.module.exit_json(changed=False, **self.result)
        self.result['submitted'] = self.update(p['channel'], config, updated)
        self.module.exit_json(changed=True, **self.result)


def main():
    module = AnsibleModule(
        argument_spec=channel_update_argument_spec(
            anchor_peers=dict(type='list', elements='str', required=True),
        ),
        supports_check_mode=True,
    )
    Anchors(module).main()


if __name__ == '__main__':
    main()
