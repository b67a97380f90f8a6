#!/usr/bin/python
# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: fabric_chaincode
version_added: 0.1.0
short_description: A Hyperledger Fabric chaincode run as a service, through the chaincode lifecycle
description:
  - Makes the chaincode-as-a-service package (byte for byte the same for the same label and address, so its
    package ID is stable), installs it on the given organizations' peers, approves the definition for each of
    those organizations and commits it once every organization of O(channel_msp_ids) has approved.
  - "Idempotent: installed, approved at this sequence and committed means no change. A changed definition
    (version, endorsement policy, init flag) is approved and committed at the next sequence; a changed package
    alone is approved again at the committed sequence."
author: Keel maintainers (@keel-maintainers)
extends_documentation_fragment:
  - keel.infra.container_exec
attributes:
  check_mode:
    support: full
    description: Asks the peers and reports the steps that would run.
  diff_mode:
    support: none
    description: RV(changes) lists the steps taken.
options:
  name:
    description: Chaincode name.
    type: str
    required: true
  channel:
    description: Channel the chaincode is defined on.
    type: str
    required: true
  version:
    description: Version of the definition.
    type: str
    required: true
  label:
    description: Package label; the package ID is C(<label>:<sha256 of the package>).
    type: str
    required: true
  address:
    description: Address at which the peers reach the chaincode server, C(host:port).
    type: str
    required: true
  dial_timeout:
    description: How long a peer waits to connect to the chaincode server.
    type: str
    default: 10s
  tls_required:
    description: Whether the peers talk TLS to the chaincode server.
    type: bool
    default: false
  package_path:
    description: Where the package file is written; the same path must be visible where the tools run.
    type: path
    required: true
  endorsement_policy:
    description:
      - Endorsement policy; a channel policy reference starting with C(/), or a signature policy such as
        C(OR('Org1MSP.peer','Org2MSP.peer')). Empty means the channel's default endorsement policy.
    type: str
    default: ''
  init_required:
    description: Whether the chaincode's Init must be invoked before use.
    type: bool
    default: false
  organizations:
    description: The organizations that install and approve here, each with an admin identity and its peers.
    type: list
    elements: dict
    required: true
    suboptions:
      msp_id:
        description: MSP ID.
        type: str
        required: true
      msp_path:
        description: MSP folder of an admin of the organization.
        type: path
        required: true
      tls_root_cert:
        description: TLS CA certificate of the organization's peers.
        type: path
        required: true
      peers:
        description: Endpoints (C(host:port)) of the organization's peers that get the package.
        type: list
        elements: str
        required: true
  channel_msp_ids:
    description: MSP IDs of every organization of the channel; the definition is committed once all approved.
    type: list
    elements: str
    required: true
  commit_peers:
    description: Peers that endorse the commit (one per organization is enough), with their TLS CA certificates.
    type: list
    elements: dict
    required: true
    suboptions:
      address:
        description: Peer endpoint.
        type: str
        required: true
      tls_root_cert:
        description: TLS CA certificate of the peer's organization.
        type: path
        required: true
  orderer_address:
    description: An orderer of the channel.
    type: str
    required: true
  orderer_tls_root_cert:
    description: TLS CA certificate of the orderer's organization.
    type: path
    required: true
notes:
  - Fabric stores a signature policy compiled; the module can compare a channel policy reference exactly, and
    remembers what a signature policy compiles to next to O(package_path) (C(.policies.json)).
'''

EXAMPLES = r'''
- name: ThermoTrace chaincode, installed, approved and committed
  keel.infra.fabric_chaincode:
    name: thermotrace
    channel: thermotrace
    version: "1.0"
    label: thermotrace_1.0
    address: thermotrace-ccaas:9999
    package_path: /var/lib/keel/fabric/chaincode/thermotrace.tar.gz
    organizations:
      - msp_id: ManufacturerMSP
        msp_path: /var/lib/keel/fabric/manufacturer.example.com/admins/admin.manufacturer.example.com/msp
        tls_root_cert: /var/lib/keel/fabric/manufacturer.example.com/tlsca/tlsca.crt
        peers: [peer0.manufacturer.example.com:9051]
    channel_msp_ids: [ManufacturerMSP, MROLabMSP]
    commit_peers:
      - address: peer0.manufacturer.example.com:9051
        tls_root_cert: /var/lib/keel/fabric/manufacturer.example.com/tlsca/tlsca.crt
    orderer_address: orderer1.orderer.example.com:8050
    orderer_tls_root_cert: /var/lib/keel/fabric/orderer.example.com/tlsca/tlsca.crt
    container: fabric-tools
'''

RETURN = r'''
package_id:
  description: ID of the package, what the chaincode server must be started with (C(CHAINCODE_ID)).
  returned: always
  type: str
  sample: thermotrace_1.0:4b1c...
sequence:
  description: Sequence of the wanted definition.
  returned: always
  type: int
committed:
  description: Whether the wanted definition is committed on the channel after the task.
  returned: always
  type: bool
approvals:
  description: Approval of the wanted definition per MSP ID (from checkcommitreadiness), when not yet committed.
  returned: always
  type: dict
changes:
  description: Steps taken (or, in check mode, that would be taken).
  returned: always
  type: list
  elements: str
'''

import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.keel.infra.plugins.module_utils._container_exec import (  # noqa: E402
    ContainerExec,
    container_exec_argument_spec,
)
from ansible_collections.keel.infra.plugins.module_utils._fabric_cli import (  # noqa: E402
    approved_package,
    ccaas_package,
    cli_error,
    definition_matches,
    expected_parameter,
    installed_ids,
    not_found,
    orderer_args,
    peer_env,
    policy_args,
)


class Lifecycle(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.tools = ContainerExec(module)
        self.changes = []
        self.orderer = orderer_args(self.p['orderer_address'], self.p['orderer_tls_root_cert'])

    def env(self, org, peer=None):
        return peer_env(org['msp_id'], org['msp_path'], peer or org['peers'][0], org['tls_root_cert'])

    def peer(self, args, env, what, missing_ok=False):
        rc, out, err = self.tools.run(['peer', 'lifecycle', 'chaincode'] + args, env=env)
        if rc != 0:
            if missing_ok and not_found(out, err):
                return None
            self.module.fail_json(msg='could not %s: %s' % (what, cli_error(out, err)), rc=rc, stdout=out,
                                  stderr=err, changes=self.changes)
        return out

    def definition_args(self, sequence):
        p = self.p
        args = ['--channelID', p['channel'], '--name', p['name'], '--version', p['version'],
                '--sequence', str(sequence)] + policy_args(p['endorsement_policy'])
        if p['init_required']:
            args.append('--init-required')
        return args

    def run(self):
        p, module = self.p, self.module
        package, self.package_id = ccaas_package(p['label'], p['address'], p['dial_timeout'], p['tls_required'])
        if _write_package(module, p['package_path'], package):
            self.changes.append('write package %s' % p['package_path'])
        self.policies_file = p['package_path'] + '.policies.json'
        self.policies = _load_policies(self.policies_file)
        self.parameter = expected_parameter(p['endorsement_policy'], self.policies)
        self.wanted = {'version': p['version'], 'init_required': p['init_required']}
        self.install()
        sequence, is_committed = self.target()
        for org in p['organizations']:
            self.approve(org, sequence)
        approvals = {}
        if not is_committed:
            if module.check_mode and self.changes:
                module.exit_json(changed=True, package_id=self.package_id, sequence=sequence, committed=False,
                                 approvals={}, changes=self.changes + ['commit when every organization approved'])
            approvals, is_committed = self.commit(sequence)
        module.exit_json(changed=bool(self.changes), package_id=self.package_id, sequence=sequence,
                         committed=is_committed, approvals=approvals, changes=self.changes)

    def install(self):
        """The package on every peer of the organizations handled here."""
        for org in self.p['organizations']:
            for address in org['peers']:
                env = self.env(org, address)
                out = self.peer(['queryinstalled', '--output', 'json'], env, 'list the packages on %s' % address)
                if self.package_id in installed_ids(out):
                    continue
                self.changes.append('install %s on %s' % (self.package_id, address))
                if not self.module.check_mode:
                    self.peer(['install', self.p['package_path']], env,
                              'install %s on %s' % (self.p['package_path'], address))

    def target(self):
        """(sequence of the wanted definition, whether it is the committed one)."""
        p = self.p
        out = self.peer(['querycommitted', '--channelID', p['channel'], '--name', p['name'], '--output', 'json'],
                        self.env(p['organizations'][0]), 'ask for the committed definition of %s' % p['name'],
                        missing_ok=True)
        committed = json.loads(out) if out else None
        if committed is None:
            return 1, False
        if definition_matches(committed, self.wanted, self.parameter):
            return int(committed['sequence']), True
        return int(committed['sequence']) + 1, False

    def query_approved(self, env, sequence, what, missing_ok=True):
        p = self.p
        out = self.peer(['queryapproved', '--channelID', p['channel'], '--name', p['name'], '--sequence',
                         str(sequence), '--output', 'json'], env, what, missing_ok=missing_ok)
        return json.loads(out) if out else None

    def approve(self, org, sequence):
        """This organization's approval of the wanted definition, pointing at this package."""
        p = self.p
        env = self.env(org)
        approved = self.query_approved(env, sequence, 'ask for the approval of %s' % org['msp_id'])
        if definition_matches(approved, self.wanted, self.parameter) and approved_package(approved) == self.package_id:
            return
        self.changes.append('approve %s %s sequence %d for %s' % (p['name'], p['version'], sequence, org['msp_id']))
        if self.module.check_mode:
            return
        self.peer(['approveformyorg', '--package-id', self.package_id] + self.definition_args(sequence)
                  + self.orderer, env, 'approve %s for %s' % (p['name'], org['msp_id']))
        if self.parameter is None:
            # What the peer made of a signature policy, remembered for the next comparison.
            approved = self.query_approved(env, sequence, 'read back the approval', missing_ok=False)
            self.parameter = approved.get('validation_parameter')
            self.policies[p['endorsement_policy']] = self.parameter
            with open(self.policies_file, 'w') as handle:
                json.dump(self.policies, handle, indent=2, sort_keys=True)

    def commit(self, sequence):
        """Commit once every organization of the channel has approved; (approvals, committed)."""
        p = self.p
        first = self.env(p['organizations'][0])
        out = self.peer(['checkcommitreadiness', '--output', 'json'] + self.definition_args(sequence), first,
                        'check whether %s can be committed' % p['name'])
        approvals = json.loads(out).get('approvals', {})
        if not all(approvals.get(msp) for msp in p['channel_msp_ids']):
            return approvals, False
        self.changes.append('commit %s %s sequence %d' % (p['name'], p['version'], sequence))
        if self.module.check_mode:
            return approvals, False
        args = ['commit'] + self.definition_args(sequence) + self.orderer
        for item in p['commit_peers']:
            args += ['--peerAddresses', item['address'], '--tlsRootCertFiles', item['tls_root_cert']]
        rc, out, err = self.tools.run(['peer', 'lifecycle', 'chaincode'] + args, env=first)
        if rc != 0:
            # Two organizations' runs that both found every approval commit at once: one of the two
            # transactions loses (MVCC_READ_CONFLICT), or, when the other was committed before ours was
            # endorsed, the peers refuse ours ("new definition must be sequence N+1"). The definition is
            # committed either way.
            text = (out or '') + (err or '')
            raced = 'MVCC_READ_CONFLICT' in text or 'new definition must be sequence %d' % (sequence + 1) in text
            if raced and self.target() == (sequence, True):
                self.changes[-1] += ' (committed by another run at the same time)'
                return approvals, True
            self.module.fail_json(msg='could not commit %s: %s' % (p['name'], cli_error(out, err)), rc=rc,
                                  stdout=out, stderr=err, changes=self.changes)
        return approvals, True


def _write_package(module, path, data):
    try:
        with open(path, 'rb') as handle:
            if handle.read() == data:
                return False
    except IOError:
        pass
    if module.check_mode:
        return True
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o750)
    fd, tmp = tempfile.mkstemp(dir=folder)
    with os.fdopen(fd, 'wb') as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)
    return True


def _load_policies(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, ValueError):
        return {}


def main():
    org_spec = dict(
        msp_id=dict(type='str', required=True),
        msp_path=dict(type='path', required=True),
        tls_root_cert=dict(type='path', required=True),
        peers=dict(type='list', elements='str', required=True),
    )
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            channel=dict(type='str', required=True),
            version=dict(type='str', required=True),
            label=dict(type='str', required=True),
            address=dict(type='str', required=True),
            dial_timeout=dict(type='str', default='10s'),
            tls_required=dict(type='bool', default=False),
            package_path=dict(type='path', required=True),
            endorsement_policy=dict(type='str', default=''),
            init_required=dict(type='bool', default=False),
            organizations=dict(type='list', elements='dict', required=True, options=org_spec),
            channel_msp_ids=dict(type='list', elements='str', required=True),
            commit_peers=dict(type='list', elements='dict', required=True, options=dict(
                address=dict(type='str', required=True),
                tls_root_cert=dict(type='path', required=True),
            )),
            orderer_address=dict(type='str', required=True),
            orderer_tls_root_cert=dict(type='path', required=True),
            **container_exec_argument_spec()
        ),
        supports_check_mode=True,
    )
    life = Lifecycle(module)
    life.run()


if __name__ == '__main__':
    main()
