#!/usr/bin/python
# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: fabric_peer_channel
version_added: 0.1.0
short_description: Membership of Hyperledger Fabric peers in a channel
description:
  - Asks each peer with C(peer channel list), acting as its organization's admin, whether it has joined
    O(channel). A peer that has not joined gets the channel's first block from an orderer (C(peer channel
    fetch 0)) and joins with it. Peers that are members are left alone.
  - A peer joined by this task is waited for until it has caught up with the channel's height at the orderer.
  - Returns every peer's ledger height (C(peer channel getinfo)).
author: Keel maintainers (@keel-maintainers)
extends_documentation_fragment:
  - keel.infra.container_exec
attributes:
  check_mode:
    support: full
    description: Asks the peers, joins nothing.
  diff_mode:
    support: none
    description: RV(peers) lists each peer's membership and height.
options:
  channel:
    description: Name of the channel.
    type: str
    required: true
  peers:
    description: The peers, each with the admin identity of its organization.
    type: list
    elements: dict
    required: true
    suboptions:
      address:
        description: The peer's endpoint, C(host:port), as seen where the tools run.
        type: str
        required: true
      msp_id:
        description: MSP ID of the peer's organization.
        type: str
        required: true
      msp_path:
        description: MSP folder of an admin of that organization.
        type: path
        required: true
      tls_root_cert:
        description: TLS CA certificate of the peer's organization.
        type: path
        required: true
  orderer_address:
    description: An orderer of the channel, C(host:port), to fetch the first block from.
    type: str
    required: true
  orderer_tls_root_cert:
    description: TLS CA certificate of the orderer's organization.
    type: path
    required: true
  block_dir:
    description: Folder, where the tools run, for the fetched block.
    type: path
    default: /tmp
  retries:
    description: How often to try fetching the first block while the orderer is still starting the channel.
    type: int
    default: 15
  catch_up_timeout:
    description:
      - Seconds a peer joined by this task gets to reach the channel's height at the orderer (it fetches and
        validates every block from the first), so that what follows (chaincode approval, queries) sees the
        channel's current state.
    type: int
    default: 300
'''

EXAMPLES = r'''
- name: Manufacturer's peer has joined the thermotrace channel
  keel.infra.fabric_peer_channel:
    channel: thermotrace
    peers:
      - address: peer0.manufacturer.example.com:9051
        msp_id: ManufacturerMSP
        msp_path: /var/lib/keel/fabric/manufacturer.example.com/admins/admin.manufacturer.example.com/msp
        tls_root_cert: /var/lib/keel/fabric/manufacturer.example.com/tlsca/tlsca.crt
    orderer_address: orderer1.orderer.example.com:8050
    orderer_tls_root_cert: /var/lib/keel/fabric/orderer.example.com/tlsca/tlsca.crt
    container: fabric-tools
'''

RETURN = r'''
peers:
  description: Per peer address, whether it was joined by this task and its ledger height.
  returned: always
  type: dict
  sample: {"peer0.manufacturer.example.com:9051": {joined_now: false, height: 5}}
'''

import re  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.keel.infra.plugins.module_utils._container_exec import (  # noqa: E402
    ContainerExec,
    container_exec_argument_spec,
)
from ansible_collections.keel.infra.plugins.module_utils._fabric_cli import (  # noqa: E402
    FabricCliError,
    cli_error,
    parse_channel_list,
    parse_getinfo,
    peer_env,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            channel=dict(type='str', required=True),
            peers=dict(type='list', elements='dict', required=True, options=dict(
                address=dict(type='str', required=True),
                msp_id=dict(type='str', required=True),
                msp_path=dict(type='path', required=True),
                tls_root_cert=dict(type='path', required=True),
            )),
            orderer_address=dict(type='str', required=True),
            orderer_tls_root_cert=dict(type='path', required=True),
            block_dir=dict(type='path', default='/tmp'),  # noqa: S108 - inside the tools container
            retries=dict(type='int', default=15),
            catch_up_timeout=dict(type='int', default=300),
            **container_exec_argument_spec()
        ),
        supports_check_mode=True,
    )
    p = module.params
    tools = ContainerExec(module)
    channel = p['channel']
    result = {}
    block = '%s/%s-0.block' % (p['block_dir'].rstrip('/'), channel)

    def peer(args, env, what, tolerated=None):
        """The output of a peer command; None when it failed with the tolerated text in its output."""
        rc, out, err = tools.run(['peer'] + args, env=env)
        if rc != 0 and tolerated and tolerated in (out or '') + (err or ''):
            return None
        if rc != 0:
            module.fail_json(msg='could not %s: %s' % (what, cli_error(out, err)), rc=rc, stdout=out, stderr=err,
                             peers=result)
        return out + err

    fetched = False
    for item in p['peers']:
        env = peer_env(item['msp_id'], item['msp_path'], item['address'], item['tls_root_cert'])
        try:
            joined = channel in parse_channel_list(peer(['channel', 'list'], env, 'list the channels of %s'
                                                        % item['address']))
        except FabricCliError as exc:
            module.fail_json(msg=str(exc), peers=result)
        result[item['address']] = {'joined_now': not joined}
        if joined or module.check_mode:
            continue
        if not fetched:
            _fetch_first_block(module, tools, env, channel, block, p)
            fetched = True
        peer(['channel', 'join', '-b', block], env, 'join %s to channel %s' % (item['address'], channel))
    target = None
    for item in p['peers']:
        if result[item['address']]['joined_now'] and module.check_mode:
            continue
        env = peer_env(item['msp_id'], item['msp_path'], item['address'], item['tls_root_cert'])
        height = _height_reader(module, peer, env, channel, item['address'], result,
                                catching_up=result[item['address']]['joined_now'])

        result[item['address']]['height'] = height()
        if not result[item['address']]['joined_now']:
            continue
        if target is None:
            target = _channel_height(module, tools, env, channel, block, p)
        deadline = time.time() + p['catch_up_timeout']
        while result[item['address']]['height'] < target:
            if time.time() > deadline:
                module.fail_json(msg='%s joined %s but reached only height %d of %d in %d s'
                                 % (item['address'], channel, result[item['address']]['height'], target,
                                    p['catch_up_timeout']), peers=result)
            time.sleep(1)
            result[item['address']]['height'] = height()
    module.exit_json(changed=any(v['joined_now'] for v in result.values()), peers=result)


def _height_reader(module, peer, env, channel, address, result, catching_up=False):
    """A function that asks one peer for its height on the channel.

    catching_up: the peer has just joined from block 0. Until it has processed the config block that added
    its organization to a running channel, the channel it knows does not count that organization among its
    readers, and the peer refuses the admin's request (access denied): height 0 then, so that the caller's
    bounded wait for the catch-up goes on.
    """
    def height():
        out = peer(['channel', 'getinfo', '-c', channel], env, 'read the height of %s on %s' % (channel, address),
                   tolerated='access denied' if catching_up else None)
        if out is None:
            return 0
        try:
            return parse_getinfo(out)['height']
        except FabricCliError as exc:
            module.fail_json(msg=str(exc), peers=result)
    return height


def _channel_height(module, tools, env, channel, block, p):
    """The channel's height at the orderer: its newest block's number plus one."""
    args = ['peer', 'channel', 'fetch', 'newest', block + '.newest', '-c', channel, '-o', p['orderer_address'],
            '--tls', '--cafile', p['orderer_tls_root_cert']]
    rc, out, err = tools.run(args, env=env)
    match = re.search(r'Received block:\s*(\d+)', (out or '') + (err or ''))
    if rc != 0 or not match:
        module.fail_json(msg='could not read the height of %s at %s: %s'
                         % (channel, p['orderer_address'], cli_error(out, err)), rc=rc)
    return int(match.group(1)) + 1


def _fetch_first_block(module, tools, env, channel, block, p):
    """Block 0 from the orderer; a channel the orderer has only just joined may need a moment."""
    args = ['peer', 'channel', 'fetch', '0', block, '-c', channel, '-o', p['orderer_address'], '--tls',
            '--cafile', p['orderer_tls_root_cert']]
    for attempt in range(max(p['retries'], 1)):
        rc, out, err = tools.run(args, env=env)
        if rc == 0:
            return
        if attempt + 1 < p['retries']:
            time.sleep(1)
    module.fail_json(msg='could not fetch the first block of %s from %s: %s'
                     % (channel, p['orderer_address'], cli_error(out, err)), rc=rc, stdout=out, stderr=err)


if __name__ == '__main__':
    main()
