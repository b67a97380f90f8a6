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
extends_documentation_fragment:
  - keel.infra.container_exec
  - keel.infra.fabric_channel_update
options:
  organizations:
    description:
      - The application organizations the channel must have, as configtx.yaml sections (C(Name), C(ID), C(MSPDir),
        C(Policies), C(AnchorPeers)); the MSP folders are read where the tools run.
    type: list
    elements: dict
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
author: Keel maintainers (@keel-maintainers)
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
from ansible_collections.keel.infra.plugins.module_utils._fabric_config import (  # noqa: E402
    added_organizations,
    application_members,
    envelope,
    envelope_parts,
    majority,
    with_organizations,
)
from ansible_collections.keel.infra.plugins.module_utils._fabric_update import (  # noqa: E402
    ChannelConfigTool,
    channel_update_argument_spec,
)


class Members(ChannelConfigTool):
    def __init__(self, module):
        super(Members, self).__init__(module, {'members': [], 'adding': [], 'signed_by': [], 'needs': 0,
                                               'submitted': False})

    def main(self):
        p = self.p
        config = self.fetch_config(p['channel'])
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
            self.submit(p['channel'], p['update_file'])
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
        return self.compute_update(p['channel'], config, with_organizations(config, groups))

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
        argument_spec=channel_update_argument_spec(
            organizations=dict(type='list', elements='dict', required=True),
            update_file=dict(type='path', required=True),
            incoming_files=dict(type='list', elements='path', default=[]),
            submit=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    for org in module.params['organizations']:
        if not isinstance(org.get('Name'), str) or not org.get('MSPDir'):
            module.fail_json(msg='each organization needs Name and MSPDir (a configtx.yaml section), got %r' % org)
    Members(module).main()


if __name__ == '__main__':
    main()
