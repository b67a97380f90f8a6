#!/usr/bin/python
# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: fabric_msp
version_added: 0.1.0
short_description: MSP and TLS material of one Hyperledger Fabric organization, made on its own host
description:
  - Creates the organization's signing CA and TLS CA, its public MSP definition (CA and TLS CA certificates,
    NodeOUs C(config.yaml)) and one MSP folder plus one TLS key pair per peer, orderer, admin and client identity.
  - Runs on the organization's host, so private keys are generated there and never travel. Only the public
    MSP folder (O(path)/msp) and TLS CA certificate are meant to be exchanged with partners.
  - Idempotent. Existing keys are never replaced. A certificate is issued again only when it is missing, expires
    within O(renew_days), or no longer matches its identity (names, OU, TLS host names, issuing CA). A CA
    certificate is not re-issued while its key exists.
  - Keys are ECDSA P-256 in PKCS#8 PEM files with mode C(0600); certificates are C(0644).
  - With O(admin_key), the organization's admin signs with a key held outside the host (for example in an AWX
    credential) - it replaces the admin's key here and the admin's certificate is issued for it.
  - An organization's nodes may run on several hosts. Its CA is on one of them, which runs the module with
    O(requests) - the other hosts' nodes, with their public keys - and issues their certificates for those public
    keys (or returns the current ones while they still fit). Each other host runs it with O(ca_on_this_host=false)
    - before, to make its nodes' keys here and return the public keys (RV(requests)), and after, with
    O(certificates) from the CA's host, to install them next to the keys. Private keys never leave their host.
  - With O(public), writes instead the public material of an organization whose keys are held on another host
    (a partner's, from its exported definition) - its MSP definition, TLS CA certificate and its orderers' TLS
    certificates. No key is made or read then, and a folder holding the organization's CA key is refused.
author: Keel maintainers (@keel-maintainers)
requirements:
  - cryptography (Debian package C(python3-cryptography)) on the managed host
attributes:
  check_mode:
    support: full
    description: Reports the files that would be written, writes nothing.
  diff_mode:
    support: none
    description: Key material has no diff to show; RV(changed_files) lists what changed.
options:
  path:
    description: Folder of the organization's material, for example C(/var/lib/keel/fabric/manufacturer.example.com).
    type: path
    required: true
  domain:
    description: The organization's domain; node names and certificate subjects derive from it.
    type: str
    required: true
  msp_id:
    description: The organization's MSP ID, for example C(ManufacturerMSP).
    type: str
    required: true
  identities:
    description: Identities of the organization.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Short name, a DNS label such as C(peer0), C(orderer1), C(admin), C(user1).
        type: str
        required: true
      kind:
        description: What the identity is; becomes its NodeOU.
        type: str
        required: true
        choices: [peer, orderer, admin, client]
      hosts:
        description:
          - Extra DNS names and IP addresses for the TLS certificate. Peers and orderers always get
            C(<name>.<domain>).
        type: list
        elements: str
        default: []
  ca_validity_days:
    description: Lifetime of new CA certificates.
    type: int
    default: 3650
  cert_validity_days:
    description: Lifetime of new identity and TLS certificates (never beyond the CA's).
    type: int
    default: 825
  renew_days:
    description: Issue a certificate again when it expires within this many days.
    type: int
    default: 30
  country:
    description: Country (C) in CA subjects, optional.
    type: str
  locality:
    description: Locality (L) in CA subjects, optional.
    type: str
  ca_on_this_host:
    description:
      - V(false) on a host that runs nodes of the organization whose CA is on another host. The module then makes
        the O(identities)' keys here (never an admin's, which lives on the CA's host), returns their public keys
        in RV(requests), and installs O(certificates) when given. No CA key may be in O(path) then.
    type: bool
    default: true
  requests:
    description:
      - On the CA's host, identities of the organization's nodes on other hosts (what RV(requests) returned there);
        their certificates are issued for their public keys, or the current ones returned while they still match
        the key, names, issuer and validity. Returned in RV(issued). An orderer's TLS certificate is also written
        here (it names a Raft consenter in the channels made on this host).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Short name, as in O(identities).
        type: str
        required: true
      kind:
        description: What the identity is; an admin cannot be requested.
        type: str
        required: true
        choices: [peer, orderer, client]
      hosts:
        description: Extra DNS names and IP addresses for the TLS certificate, as in O(identities).
        type: list
        elements: str
        default: []
      sign_public_key:
        description: Public key (PEM) of its signing key; an item without one (check mode on a new host) is skipped.
        type: str
      tls_public_key:
        description: Public key (PEM) of its TLS key.
        type: str
      sign_cert:
        description: Its current signing certificate (PEM), kept while it still fits.
        type: str
      tls_cert:
        description: Its current TLS certificate (PEM), kept while it still fits.
        type: str
  admin_key:
    description:
      - The admin identity's signing key (PEM, ECDSA P-256, unencrypted), held outside this host. It is written as
        the admin's key (mode C(0600)) unless that key is there already, replacing the one there, and the admin's
        certificate is issued for it by the organization's CA; the admin's TLS pair is still made here.
      - Needs exactly one identity of kind C(admin), and the organization's CA on this host.
      - Never logged. A key of another kind or curve fails the task before any file is written.
    type: str
  certificates:
    description:
      - With O(ca_on_this_host=false), what the CA's host returned (its RV(ca_cert), RV(tls_ca_cert) and
        RV(identities)). Each certificate is installed only if it is for this host's key and issued by the
        organization's CA; a missing one fails the task (in check mode it is reported as to be written).
    type: dict
    suboptions:
      ca_cert:
        description: The organization's CA certificate (PEM).
        type: str
        required: true
      tls_ca_cert:
        description: The organization's TLS CA certificate (PEM).
        type: str
        required: true
      identities:
        description:
          - C(kind/name) -> C(sign_cert), C(tls_cert) (PEM). The other orderers' TLS certificates are written too.
        type: dict
        default: {}
  public:
    description:
      - Public material of an organization whose keys are held elsewhere; O(identities) must then be empty.
    type: dict
    suboptions:
      ca_cert:
        description: The organization's CA certificate (PEM).
        type: str
        required: true
      tls_ca_cert:
        description: The organization's TLS CA certificate (PEM).
        type: str
        required: true
      node_tls_certs:
        description: TLS certificate (PEM) of each of its orderers, by full node name; they name Raft consenters.
        type: dict
        default: {}
"""

EXAMPLES = r"""
- name: Material of Manufacturer, made on Manufacturer's host
  keel.infra.fabric_msp:
    path: /var/lib/keel/fabric/manufacturer.example.com
    domain: manufacturer.example.com
    msp_id: ManufacturerMSP
    identities:
      - name: peer0
        kind: peer
        hosts: [localhost, 127.0.0.1]
      - name: admin
        kind: admin

- name: The orderers' admin signs with the key that an AWX credential injected as a file
  keel.infra.fabric_msp:
    path: /var/lib/keel/fabric/orderer.example.com
    domain: orderer.example.com
    msp_id: OrdererMSP
    identities: [{name: orderer1, kind: orderer}, {name: admin, kind: admin}]
    admin_key: "{{ lookup('ansible.builtin.file', fabric_admin_key_file) }}"

- name: MRO Lab's public material, from the definition MRO Lab exported
  keel.infra.fabric_msp:
    path: /var/lib/keel/fabric/mrolab.example.com
    domain: mrolab.example.com
    msp_id: MROLabMSP
    public:
      ca_cert: "{{ mrolab.ca_cert }}"
      tls_ca_cert: "{{ mrolab.tls_ca_cert }}"

- name: Orderer3's keys, on its own host; its organization's CA is on orderer1's host
  keel.infra.fabric_msp:
    path: /var/lib/keel/fabric/orderer.example.com
    domain: orderer.example.com
    msp_id: OrdererMSP
    ca_on_this_host: false
    identities:
      - name: orderer3
        kind: orderer
  register: keys

- name: The CA's host issues its certificates for those public keys
  keel.infra.fabric_msp:
    path: /var/lib/keel/fabric/orderer.example.com
    domain: orderer.example.com
    msp_id: OrdererMSP
    identities:
      - name: orderer1
        kind: orderer
      - name: admin
        kind: admin
    requests: "{{ keys.requests }}"
  delegate_to: orderer1.example.com
  register: ca

- name: Orderer3's host installs them next to its keys
  keel.infra.fabric_msp:
    path: /var/lib/keel/fabric/orderer.example.com
    domain: orderer.example.com
    msp_id: OrdererMSP
    ca_on_this_host: false
    identities:
      - name: orderer3
        kind: orderer
    certificates:
      ca_cert: "{{ ca.ca_cert }}"
      tls_ca_cert: "{{ ca.tls_ca_cert }}"
      identities: "{{ ca.identities }}"
"""

RETURN = r"""
changed_files:
  description: Files written (or, in check mode, that would be written).
  returned: always
  type: list
  elements: str
msp_dir:
  description: The organization's public MSP folder, the part partners import.
  returned: always
  type: str
  sample: /var/lib/keel/fabric/manufacturer.example.com/msp
identities:
  description: Per C(kind/name), the identity's folder, certificate subject, TLS host names and TLS certificate.
  returned: unless O(public) is given
  type: dict
  sample:
    peer/peer0:
      dir: /var/lib/keel/fabric/manufacturer.example.com/peers/peer0.manufacturer.example.com
      subject: peer0.manufacturer.example.com
      tls_hosts: [peer0.manufacturer.example.com, localhost]
      tls_cert: "-----BEGIN CERTIFICATE-----..."
requests:
  description:
    - With O(ca_on_this_host=false), what the CA's host needs to issue this host's certificates (its O(requests)) -
      per identity its name, kind, TLS host names, public keys (none yet in check mode on a new host) and current
      certificates. No private key.
  returned: when O(ca_on_this_host=false)
  type: list
  elements: dict
issued:
  description: Per C(kind/name) of O(requests), the C(sign_cert) and C(tls_cert) (PEM) issued or kept for it.
  returned: unless O(public) is given or O(ca_on_this_host=false)
  type: dict
newly_issued:
  description: The C(kind/name) of O(requests) given new certificates in this run (the task then reports a change).
  returned: unless O(public) is given or O(ca_on_this_host=false)
  type: list
  elements: str
ca_cert:
  description: The organization's CA certificate (PEM), part of its public definition.
  returned: unless O(public) is given
  type: str
tls_ca_cert:
  description: The organization's TLS CA certificate (PEM), part of its public definition.
  returned: unless O(public) is given
  type: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.keel.infra.plugins.module_utils._fabric_msp import (
    HAS_CRYPTOGRAPHY,
    MspError,
    ensure_node_keys,
    ensure_org,
    ensure_public,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            domain=dict(type="str", required=True),
            msp_id=dict(type="str", required=True),
            identities=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    kind=dict(type="str", required=True, choices=["peer", "orderer", "admin", "client"]),
                    hosts=dict(type="list", elements="str", default=[]),
                ),
            ),
            ca_validity_days=dict(type="int", default=3650),
            cert_validity_days=dict(type="int", default=825),
            renew_days=dict(type="int", default=30),
            country=dict(type="str"),
            locality=dict(type="str"),
            ca_on_this_host=dict(type="bool", default=True),
            admin_key=dict(type="str", no_log=True),
            requests=dict(
                type="list",
                elements="dict",
                default=[],
                no_log=False,
                options=dict(
                    name=dict(type="str", required=True),
                    kind=dict(type="str", required=True, choices=["peer", "orderer", "client"]),
                    hosts=dict(type="list", elements="str", default=[]),
                    # Public keys and certificates: nothing secret.
                    sign_public_key=dict(type="str", no_log=False),
                    tls_public_key=dict(type="str", no_log=False),
                    sign_cert=dict(type="str"),
                    tls_cert=dict(type="str"),
                ),
            ),
            certificates=dict(
                type="dict",
                options=dict(
                    ca_cert=dict(type="str", required=True),
                    tls_ca_cert=dict(type="str", required=True),
                    identities=dict(type="dict", default={}),
                ),
            ),
            public=dict(
                type="dict",
                options=dict(
                    ca_cert=dict(type="str", required=True),
                    tls_ca_cert=dict(type="str", required=True),
                    node_tls_certs=dict(type="dict", default={}),
                ),
            ),
        ),
        mutually_exclusive=[("public", "requests"), ("public", "certificates"), ("requests", "certificates"),
                            ("public", "admin_key")],
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    params = module.params
    if params["public"]:
        _public(module, params)
    if not params["ca_on_this_host"]:
        _node_keys(module, params)
    if params["certificates"]:
        module.fail_json(msg="fabric_msp: certificates are installed on a host without the organization's CA "
                             "(ca_on_this_host: false)")
    for key in ("ca_validity_days", "cert_validity_days"):
        if params[key] <= 0:
            module.fail_json(msg="%s must be a positive number of days" % key)
    if params["renew_days"] < 0 or params["renew_days"] >= params["cert_validity_days"]:
        module.fail_json(msg="renew_days must be at least 0 and less than cert_validity_days")
    try:
        changed, summary = ensure_org(
            params["path"],
            params["domain"],
            params["msp_id"],
            params["identities"],
            check_mode=module.check_mode,
            ca_validity_days=params["ca_validity_days"],
            cert_validity_days=params["cert_validity_days"],
            renew_days=params["renew_days"],
            country=params["country"],
            locality=params["locality"],
            requests=params["requests"],
            admin_key=params["admin_key"],
        )
    except MspError as exc:
        module.fail_json(msg="fabric_msp: %s" % exc)
    module.exit_json(
        changed=bool(changed or summary["newly_issued"]),
        changed_files=changed,
        msp_dir=summary["msp_dir"],
        identities=summary["identities"],
        issued=summary["issued"],
        newly_issued=summary["newly_issued"],
        ca_cert=summary["ca_cert"],
        tls_ca_cert=summary["tls_ca_cert"],
    )


def _node_keys(module, params):
    if params["admin_key"] is not None:
        module.fail_json(msg="fabric_msp: an admin key goes to the host of the organization's CA "
                             "(ca_on_this_host: true), which issues the admin's certificate")
    if params["requests"]:
        module.fail_json(msg="fabric_msp: requests are issued on the host of the organization's CA "
                             "(ca_on_this_host: true)")
    try:
        changed, summary = ensure_node_keys(params["path"], params["domain"], params["msp_id"], params["identities"],
                                            certificates=params["certificates"], check_mode=module.check_mode)
    except MspError as exc:
        module.fail_json(msg="fabric_msp: %s" % exc)
    module.exit_json(changed=bool(changed), changed_files=changed, msp_dir=summary["msp_dir"],
                     requests=summary["requests"], identities=summary["identities"])


def _public(module, params):
    if params["identities"]:
        module.fail_json(msg="fabric_msp: identities are made on the organization's own host; give either "
                             "identities or public, not both")
    public = params["public"]
    try:
        changed = ensure_public(params["path"], params["domain"], params["msp_id"], public["ca_cert"],
                                public["tls_ca_cert"], public["node_tls_certs"], check_mode=module.check_mode)
    except MspError as exc:
        module.fail_json(msg="fabric_msp: %s" % exc)
    module.exit_json(changed=bool(changed), changed_files=changed, msp_dir=params["path"] + "/msp")


if __name__ == "__main__":
    main()
