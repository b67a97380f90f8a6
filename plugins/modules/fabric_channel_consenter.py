#!/usr/bin/python
# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: fabric_channel_consenter
version_added: 0.1.0
short_description: Replace one Raft consenter of a running Hyperledger Fabric channel (an orderer moved, new keys)
description:
  - Reads the channel's current configuration from an orderer (C(peer channel fetch config)) and compares the
    consenter at host O(orderer) (the orderer group's C(ConsensusType) metadata) and the orderer organization's
    C(OrdererEndpoints) with the wanted ones. When they differ, one config update (C(configtxlator compute_update))
    replaces that consenter's TLS certificate, host and port and the organization's endpoints, and is submitted
    signed by the orderer organization's admin (C(peer channel update)), whose signature the orderer group's
    C(Admins) policy needs.
  - One consenter is replaced, never added or removed, so the cluster keeps its size. Moving orderers one at a
    time, so that the others keep a Raft majority, is for the caller to check
    (P(keel.infra.fabric_orderer_move_errors#filter)). O(orderer_address) names an orderer that stays a consenter,
    and O(msp_id) the orderer organization, whose admin the orderer group's C(Admins) policy needs.
  - After an update the channel's latest config block (which names the new consenter) is in O(work_dir) as
    C(config.block); the moved orderer joins the channel with it.
extends_documentation_fragment:
  - keel.infra.container_exec
  - keel.infra.fabric_channel_update
options:
  orderer:
    description: The consenter's host in the channel's configuration now (the orderer's full name).
    type: str
    required: true
  host:
    description: The consenter's host after the update; defaults to O(orderer).
    type: str
  port:
    description: The consenter's (cluster and client) port.
    type: int
    required: true
  tls_cert:
    description: The orderer's TLS certificate (PEM), a path where the tools run; it becomes both the consenter's
      client and server certificate.
    type: path
    required: true
  org_msp_id:
    description: MSP ID of the orderer's organization.
    type: str
    required: true
  endpoints:
    description: The organization's C(OrdererEndpoints) after the update, C(host:port) each.
    type: list
    elements: str
    required: true
author: Keel maintainers (@keel-maintainers)
'''

EXAMPLES = r'''
- name: Orderer3 of OrdererMSP is a consenter of thermotrace with the TLS certificate of its new server
  keel.infra.fabric_channel_consenter:
    channel: thermotrace
    orderer: orderer3.orderer.thermotrace.example
    port: 10050
    tls_cert: "{{ orderer_dir }}/orderer3.orderer.thermotrace.example/tls/server.crt"
    org_msp_id: OrdererMSP
    endpoints: [orderer1.orderer.thermotrace.example:8050, orderer2.orderer.thermotrace.example:9050,
                orderer3.orderer.thermotrace.example:10050]
    msp_id: OrdererMSP
    msp_path: /var/lib/keel/fabric/orderer.thermotrace.example/admins/admin.orderer.thermotrace.example/msp
    orderer_address: orderer1.orderer.thermotrace.example:8050
    orderer_tls_root_cert: /var/lib/keel/fabric/orderer.thermotrace.example/tlsca/tlsca.crt
    work_dir: /var/lib/keel/fabric/channels/thermotrace/consenters
    container: thermotrace-tools
'''

RETURN = r'''
before:
  description: The consenter as the channel named it before this task (host, port, TLS certificates in base64).
  returned: always
  type: dict
after:
  description: The consenter as the update makes it.
  returned: always
  type: dict
submitted:
  description: Whether this task submitted an update.
  returned: always
  type: bool
config_block:
  description: The channel's latest config block, in O(work_dir) (after the update when one was submitted).
  returned: always
  type: str
'''

import base64  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.keel.infra.plugins.module_utils._fabric_config import (  # noqa: E402
    consenters,
    with_consenter,
)
from ansible_collections.keel.infra.plugins.module_utils._fabric_update import (  # noqa: E402
    ChannelConfigTool,
    channel_update_argument_spec,
)


def names(config, host, cert):
    """Whether the channel's configuration names the consenter at ``host`` with ``cert``."""
    return any(c.get('host') == host and c.get('server_tls_cert') == cert for c in consenters(config))


class Consenter(ChannelConfigTool):
    def __init__(self, module):
        super(Consenter, self).__init__(module, {'before': {}, 'after': {}, 'submitted': False, 'config_block': ''})

    def main(self):
        p = self.p
        try:
            with open(p['tls_cert'], 'rb') as handle:
                cert = base64.b64encode(handle.read()).decode('ascii')
        except (IOError, OSError) as exc:
            self.module.fail_json(msg='cannot read the TLS certificate %s: %s' % (p['tls_cert'], exc), **self.result)
        config = self.fetch_config(p['channel'])
        self.result['config_block'] = self.path('config.block')
        host = p['host'] or p['orderer']
        try:
            self.result['before'] = ([c for c in consenters(config) if c.get('host') in (p['orderer'], host)]
                                     or [{}])[0]
            updated = with_consenter(config, self.result['before'].get('host', p['orderer']), host, p['port'], cert,
                                     p['org_msp_id'], p['endpoints'])
        except ValueError as exc:
            self.module.fail_json(msg='channel %s: %s; only a consenter that is there can be replaced'
                                  % (p['channel'], exc), **self.result)
        self.result['after'] = [c for c in consenters(updated) if c.get('host') == host][0]
        if updated == config:
            self.module.exit_json(changed=False, **self.result)
        self.result['submitted'] = self.update(p['channel'], config, updated)
        if self.result['submitted']:
            # The orderer accepted the update; its block may still be on its way: wait for it, so that the
            # config block left here names the new consenter.
            for _attempt in range(30):
                if names(self.fetch_config(p['channel']), host, cert):
                    break
                time.sleep(2)
            else:
                self.module.fail_json(msg='channel %s: the update was submitted, but its config block did not come '
                                      'within a minute' % p['channel'], **self.result)
        self.module.exit_json(changed=True, **self.result)


def main():
    module = AnsibleModule(
        argument_spec=channel_update_argument_spec(
            orderer=dict(type='str', required=True),
            host=dict(type='str'),
            port=dict(type='int', required=True),
            tls_cert=dict(type='path', required=True),
            org_msp_id=dict(type='str', required=True),
            endpoints=dict(type='list', elements='str', required=True),
        ),
        supports_check_mode=True,
    )
    Consenter(module).main()


if __name__ == '__main__':
    main()
