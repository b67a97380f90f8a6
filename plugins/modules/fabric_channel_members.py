#!/usr/bin/python
# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: fabric_channel_members
version_added: 0.1.0
short_description: Add organizations to a running Hyperledger Fabric channel, with signatures gathered file by file
description:
  - Reads the channel's current configuration from an orderer (C(peer channel fetch config)) and compares its
    application organizations with O(organizations). An organization that is missing is added by a config update
    (C(configtxlator compute_update)); nothing is ever removed.
  - The update travels as one envelope file, O(update_file). This module signs it as this host's organization's
    admin (C(peer channel signconfigtx)). An envelope already in O(update_file) (signed by partners on their own
    controllers) is signed only when its update is exactly the one this organization's description makes;
    otherwise the module fails and signs nothing.
  - Once the signatures satisfy the channel's C(/Channel/Application/Admins) policy (by default a MAJORITY of the
    current member organizations' admins), the update is submitted (C(peer channel update)) when O(submit) is true.
author: Keel maintainers (@keel-maintainers)
extends_documentation_fragment:
  - keel.infra.container_exec
attributes:
  check_mode:
    support: full
    description: Reads the channel and computes the update; signs and submits nothing.
  diff_mode:
    support: none
    description: RV(adding), RV(signed_by) and RV(needs) say what would change.
options:
  channel:
    description: Name of the channel.
    type: str
    required: true
  organizations:
    description:
      - The application organizations the channel must have, as configtx.yaml sections (C(Name), C(ID), C(MSPDir),
        C(Policies), C(AnchorPeers)); the MSP folders are read where the tools run.
    type: list
    elements: dict
    required: true
  msp_id:
    description: MSP ID of the organization that signs here.
    type: str
    required: true
  msp_path:
    description: MSP folder of that organization's admin.
    type: path
    required: true
  orderer_address:
    description: An orderer of the channel, C(host:port).
    type: str
    required: true
  orderer_tls_root_cert:
    description: TLS CA certificate of the orderer's organization.
    type: path
    required: true
  work_dir:
    description: Folder for the configuration files, the same path on the host and where the tools run.
    type: path
    required: true
  update_file:
    description:
      - The envelope of the update being signed, a path on the host that is the same where the tools run. Read
        when it exists (partners' signatures), written when this module signs.
    type: path
    required: true
  incoming_files:
    description:
      - Envelopes of the same update signed by partners (on their own controllers), on the host. Their signatures
        are merged into O(update_file); one whose update differs from the one this description makes is refused.
        Missing files are ignored.
    type: list
    elements: path
    default: []
  submit:
    description: Submit the update once enough organizations signed it.
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Carrier is a member of the thermotrace channel (signed here as Manufacturer)
  keel.infra.fabric_channel_members:
    channel: thermotrace
    organizations: "{{ members }}"
    msp_id: ManufacturerMSP
    msp_path: /var/lib/keel/fabric/manufacturer.example.com/admins/admin.manufacturer.example.com/msp
    orderer_address: orderer1.orderer.example.com:8050
    orderer_tls_root_cert: /var/lib/keel/fabric/orderer.example.com/tlsca/tlsca.crt
    work_dir: /var/lib/keel/fabric/channels/thermotrace/members
    update_file: /var/lib/keel/fabric/channels/thermotrace/members/update.pb
    container: thermotrace-tools
'''

RETURN = r'''
members:
  description: MSP IDs of the channel's application organizations before this task.
  returned: always
  type: list
  elements: str
adding:
  description: MSP IDs the update adds (empty when the channel already has every organization).
  returned: always
  type: list
  elements: str
signed_by:
  description: MSP IDs of the member organizations whose admins signed the update.
  returned: always
  type: list
  elements: str
needs:
  description: How many member organizations must sign (a majority of RV(members)).
  returned: always
  type: int
submitted:
  description: Whether this task submitted the update.
  returned: always
  type: bool
'''

import json  # noqa: E402
import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.keel.infra.plugins.module_utils._container_exec import (  # noqa: E402
    ContainerExec,
    container_exec_argument_spec,
)
from ansible_collections.keel.infra.plugins.module_utils._fabric_cli import cli_error, orderer_args  # noqa: E402
from ansible_collections.keel.infra.plugins.module_utils._fabric_config import (  # noqa: E402
    added_organizations,
    application_members,
    channel_config,
    envelope,
    envelope_parts,
    majority,
    with_organizations,
)


class Members(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.tools = ContainerExec(module)
        self.env = {'CORE_PEER_LOCALMSPID': self.p['msp_id'], 'CORE_PEER_MSPCONFIGPATH': self.p['msp_path']}
        self.orderer = orderer_args(self.p['orderer_address'], self.p['orderer_tls_root_cert'])
        self.result = {'members': [], 'adding': [], 'signed_by': [], 'needs': 0, 'submitted': False}

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

    def main(self):
        p = self.p
        if not os.path.isdir(p['work_dir']):
            os.makedirs(p['work_dir'], 0o755)
        self.run_tool(['peer', 'channel', 'fetch', 'config', self.path('config.block'), '-c', p['channel']]
                      + self.orderer, 'fetch the configuration of %s' % p['channel'], env=self.env)
        config = channel_config(self.decode(self.path('config.block'), 'common.Block'))
        members = application_members(config)
        self.result.update(members=members, needs=majority(len(members)))
        missing = [org for org in p['organizations'] if org['Name'] not in members]
        if not missing:
            self.module.exit_json(changed=False, **self.result)
        update = self.compute(config, missing)
        self.result['adding'] = added_organizations(update)
        signers, changed = self.envelope_for(update)
        self.result['signed_by'] = [m for m in signers if m in members]
        if p['msp_id'] not in signers:
            changed = True
            if not self.module.check_mode:
                self.run_tool(['peer', 'channel', 'signconfigtx', '-f', p['update_file']],
                              'sign the update as %s' % p['msp_id'], env=self.env)
            if p['msp_id'] in members:
                self.result['signed_by'].append(p['msp_id'])
        if p['submit'] and len(self.result['signed_by']) >= self.result['needs'] and not self.module.check_mode:
            self.run_tool(['peer', 'channel', 'update', '-f', p['update_file'], '-c', p['channel']] + self.orderer,
                          'submit the update of %s' % p['channel'], env=self.env)
            self.result['submitted'] = changed = True
        self.module.exit_json(changed=changed, **self.result)

    def compute(self, config, missing):
        """The config update (decoded ConfigUpdate) that adds the missing organizations."""
        p = self.p
        with open(self.path('configtx.yaml'), 'w') as handle:
            # JSON is YAML: configtxgen reads it as its configtx.yaml.
            json.dump({'Organizations': missing}, handle, sort_keys=True)
        groups = {}
        for org in missing:
            out = self.run_tool(['configtxgen', '-configPath', p['work_dir'], '-printOrg', org['Name']],
                                'describe organization %s' % org['Name'])
            groups[org['Name']] = json.loads(out)
        self.encode(config, self.path('original.pb'), 'common.Config')
        self.encode(with_organizations(config, groups), self.path('updated.pb'), 'common.Config')
        self.run_tool(['configtxlator', 'compute_update', '--channel_id', p['channel'], '--original',
                       self.path('original.pb'), '--updated', self.path('updated.pb'), '--output',
                       self.path('config_update.pb')], 'compute the update')
        return self.decode(self.path('config_update.pb'), 'common.ConfigUpdate')

    def read_envelope(self, path, update):
        """(decoded envelope, its signers) of an envelope file that must carry ``update``."""
        decoded = self.decode(path, 'common.Envelope')
        try:
            theirs, signers = envelope_parts(decoded)
        except ValueError as exc:
            self.module.fail_json(msg='%s: %s' % (path, exc), **self.result)
        if theirs != update:
            self.module.fail_json(
                msg='the update in %s (adding %s) is not the one this description makes (adding %s): nothing was '
                    'signed. Check that every organization lists the same members for %s, then start again from a '
                    'fresh update.' % (path, ', '.join(added_organizations(theirs)) or 'none',
                                       ', '.join(added_organizations(update)), self.p['channel']),
                **self.result)
        return decoded, signers

    def envelope_for(self, update):
        """Signers of update_file once partners' signatures are merged in; (signers, whether it changed)."""
        p = self.p
        if os.path.exists(p['update_file']):
            decoded, signers = self.read_envelope(p['update_file'], update)
        else:
            decoded, signers = envelope(p['channel'], update), []
        merged = False
        for path in p['incoming_files']:
            if not os.path.exists(path):
                continue
            theirs, their_signers = self.read_envelope(path, update)
            for item in theirs['payload']['data'].get('signatures') or []:
                msp_id = item['signature_header']['creator']['mspid']
                if msp_id not in signers:
                    decoded['payload']['data'].setdefault('signatures', []).append(item)
                    signers.append(msp_id)
                    merged = True
        if (merged or not os.path.exists(p['update_file'])) and not self.module.check_mode:
            self.encode(decoded, p['update_file'], 'common.Envelope')
        return signers, merged


def main():
    module = AnsibleModule(
        argument_spec=dict(
            channel=dict(type='str', required=True),
            organizations=dict(type='list', elements='dict', required=True),
            msp_id=dict(type='str', required=True),
            msp_path=dict(type='path', required=True),
            orderer_address=dict(type='str', required=True),
            orderer_tls_root_cert=dict(type='path', required=True),
            work_dir=dict(type='path', required=True),
            update_file=dict(type='path', required=True),
            incoming_files=dict(type='list', elements='path', default=[]),
            submit=dict(type='bool', default=True),
            **container_exec_argument_spec()
        ),
        supports_check_mode=True,
    )
    for org in module.params['organizations']:
        if not isinstance(org.get('Name'), str) or not org.get('MSPDir'):
            module.fail_json(msg='each organization needs Name and MSPDir (a configtx.yaml section), got %r' % org)
    Members(module).main()


if __name__ == '__main__':
    main()
