# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import os
import stat

import pytest
from ansible_collections.keel.infra.plugins.module_utils._fabric_msp import (
    MspError,
    admin_key_problems,
    ensure_node_keys,
    ensure_org,
    ensure_public,
)
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DOMAIN = "manufacturer.example.com"
IDENTITIES = [
    {"name": "peer0", "kind": "peer", "hosts": ["localhost", "127.0.0.1"]},
    {"name": "admin", "kind": "admin"},
]


def cert(path):
    with open(path, "rb") as fh:
        return x509.load_pem_x509_certificate(fh.read())


def signed_by(child, parent):
    parent.public_key().verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(child.signature_hash_algorithm))
    return child.issuer == parent.subject


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def org(tmp_path):
    base = str(tmp_path / "org")
    changed, summary = ensure_org(base, DOMAIN, "ManufacturerMSP", IDENTITIES)
    return base, changed, summary


def test_first_run_makes_the_whole_layout(org):
    base, changed, summary = org
    peer = os.path.join(base, "peers", "peer0." + DOMAIN)
    admin = os.path.join(base, "admins", "admin." + DOMAIN)
    expected = [
        "ca/ca.key", "ca/ca.crt", "tlsca/tlsca.key", "tlsca/tlsca.crt",
        "msp/cacerts/ca.crt", "msp/tlscacerts/tlsca.crt", "msp/config.yaml",
    ]
    for rel in expected:
        assert os.path.join(base, rel) in changed, rel
    for folder, stem in ((peer, "server"), (admin, "client")):
        for rel in ("msp/keystore/priv_sk", "msp/signcerts/cert.pem", "msp/cacerts/ca.crt", "msp/config.yaml",
                    "tls/ca.crt", "tls/%s.crt" % stem, "tls/%s.key" % stem):
            assert os.path.exists(os.path.join(folder, rel)), (folder, rel)
    assert summary["msp_dir"] == os.path.join(base, "msp")
    assert summary["identities"]["peer/peer0"]["tls_hosts"] == ["peer0." + DOMAIN, "localhost", "127.0.0.1"]


def test_private_keys_are_0600_and_certificates_0644(org):
    base, changed, _summary = org
    for path in changed:
        if path.endswith((".key", "priv_sk")):
            assert mode(path) == 0o600, path
        else:
            assert mode(path) == 0o644, path


def test_certificates_chain_to_the_right_ca_with_node_ous(org):
    base = org[0]
    ca, tlsca = cert(os.path.join(base, "ca/ca.crt")), cert(os.path.join(base, "tlsca/tlsca.crt"))
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    peer = os.path.join(base, "peers", "peer0." + DOMAIN)
    sign = cert(os.path.join(peer, "msp/signcerts/cert.pem"))
    assert signed_by(sign, ca)
    assert sign.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "peer"
    assert sign.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "peer0." + DOMAIN
    tls = cert(os.path.join(peer, "tls/server.crt"))
    assert signed_by(tls, tlsca)
    sans = tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["peer0." + DOMAIN, "localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = tls.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku and ExtendedKeyUsageOID.CLIENT_AUTH in eku
    admin = cert(os.path.join(base, "admins", "admin." + DOMAIN, "msp/signcerts/cert.pem"))
    assert admin.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Admin@" + DOMAIN
    assert admin.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "admin"


def test_node_ous_config_points_at_the_org_ca(org):
    with open(os.path.join(org[0], "msp/config.yaml")) as fh:
        text = fh.read()
    assert "Enable: true" in text
    for ou in ("client", "peer", "admin", "orderer"):
        assert "OrganizationalUnitIdentifier: %s" % ou in text
    assert text.count("Certificate: cacerts/ca.crt") == 4


def test_second_run_changes_nothing(org):
    base = org[0]
    changed, _summary = ensure_org(base, DOMAIN, "ManufacturerMSP", IDENTITIES)
    assert changed == []


def test_check_mode_writes_nothing(tmp_path):
    base = str(tmp_path / "org")
    changed, _summary = ensure_org(base, DOMAIN, "ManufacturerMSP", IDENTITIES, check_mode=True)
    assert os.path.join(base, "ca/ca.key") in changed
    assert not os.path.exists(base)


def test_a_lost_certificate_is_issued_again_with_the_same_key(org):
    base = org[0]
    peer = os.path.join(base, "peers", "peer0." + DOMAIN)
    with open(os.path.join(peer, "msp/keystore/priv_sk"), "rb") as fh:
        key_before = fh.read()
    os.unlink(os.path.join(peer, "msp/signcerts/cert.pem"))
    changed, _summary = ensure_org(base, DOMAIN, "ManufacturerMSP", IDENTITIES)
    assert changed == [os.path.join(peer, "msp/signcerts/cert.pem")]
    with open(os.path.join(peer, "msp/keystore/priv_sk"), "rb") as fh:
        assert fh.read() == key_before


def test_new_tls_host_reissues_only_that_tls_certificate(org):
    base = org[0]
    wanted = [{"name": "peer0", "kind": "peer", "hosts": ["localhost", "127.0.0.1", "peer0.internal"]},
              IDENTITIES[1]]
    changed, _summary = ensure_org(base, DOMAIN, "ManufacturerMSP", wanted)
    assert changed == [os.path.join(base, "peers", "peer0." + DOMAIN, "tls/server.crt")]


def test_certificates_close_to_expiry_are_renewed_but_cas_are_kept(org):
    base = org[0]
    ca_before = cert(os.path.join(base, "ca/ca.crt")).serial_number
    changed, _summary = ensure_org(base, DOMAIN, "ManufacturerMSP", IDENTITIES, renew_days=900)
    assert sorted(os.path.basename(p) for p in changed) == ["cert.pem", "cert.pem", "client.crt", "server.crt"]
    assert cert(os.path.join(base, "ca/ca.crt")).serial_number == ca_before


def test_an_existing_key_is_never_replaced(org):
    base = org[0]
    with open(os.path.join(base, "ca/ca.key"), "rb") as fh:
        ca_key = fh.read()
    os.unlink(os.path.join(base, "ca/ca.crt"))
    ensure_org(base, DOMAIN, "ManufacturerMSP", IDENTITIES)
    with open(os.path.join(base, "ca/ca.key"), "rb") as fh:
        assert fh.read() == ca_key


@pytest.mark.parametrize(
    "domain, msp_id, identities, message",
    [
        ("Manufacturer.Example.com", "ManufacturerMSP", [], "lowercase DNS name"),
        ("manufacturer.example.com", "1MSP", [], "must start with a letter"),
        ("manufacturer.example.com", "Manu MSP", [], "must start with a letter"),
        (DOMAIN, "M", [{"name": "peer0", "kind": "gateway"}], "kind must be one of"),
        (DOMAIN, "M", [{"name": "Peer_0", "kind": "peer"}], "lowercase DNS label"),
        (DOMAIN, "M", [{"name": "peer0", "kind": "peer"}, {"name": "peer0", "kind": "peer"}], "listed twice"),
        (DOMAIN, "M", [{"name": "peer0", "kind": "peer", "hosts": ["bad host"]}], "neither a DNS name"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(tmp_path, domain, msp_id, identities, message):
    base = str(tmp_path / "org")
    with pytest.raises(MspError, match=message):
        ensure_org(base, domain, msp_id, identities)
    assert not os.path.exists(base)


# A partner's public material, written from its exported definition on another host.

def _orderers(tmp_path):
    base = str(tmp_path / "orderers-home")
    _changed, summary = ensure_org(base, "orderer.example.com", "OrdererMSP", [{"name": "orderer1", "kind": "orderer"}])
    return summary


def test_public_material_of_a_partner_holds_no_key_and_names_its_consenters(tmp_path):
    home = _orderers(tmp_path)
    node = "orderer1.orderer.example.com"
    tls = home["identities"]["orderer/orderer1"]["tls_cert"]
    base = str(tmp_path / "imported")
    changed = ensure_public(base, "orderer.example.com", "OrdererMSP", home["ca_cert"], home["tls_ca_cert"],
                            {node: tls})
    files = sorted(os.path.relpath(path, base) for path in changed)
    assert files == ["msp/cacerts/ca.crt", "msp/config.yaml", "msp/tlscacerts/tlsca.crt",
                     "orderers/%s/tls/server.crt" % node, "tlsca/tlsca.crt"]
    keys = [name for _root, _dirs, names in os.walk(base) for name in names if name.endswith((".key", "_sk"))]
    assert keys == []
    assert cert(os.path.join(base, "msp/cacerts/ca.crt")).subject.rfc4514_string().startswith("CN=ca.orderer")
    assert ensure_public(base, "orderer.example.com", "OrdererMSP", home["ca_cert"], home["tls_ca_cert"],
                         {node: tls}) == []


def test_public_material_is_refused_when_wrong_or_when_the_keys_are_here(tmp_path):
    home = _orderers(tmp_path)
    other = ensure_org(str(tmp_path / "other"), "other.example.com", "OtherMSP",
                       [{"name": "orderer1", "kind": "orderer"}])[1]
    base = str(tmp_path / "imported")
    with pytest.raises(MspError, match="ca_cert is not a PEM certificate"):
        ensure_public(base, "orderer.example.com", "OrdererMSP", "not a cert", home["tls_ca_cert"])
    with pytest.raises(MspError, match="was not issued by the organization's TLS CA"):
        ensure_public(base, "orderer.example.com", "OrdererMSP", home["ca_cert"], home["tls_ca_cert"],
                      {"orderer1.orderer.example.com": other["identities"]["orderer/orderer1"]["tls_cert"]})
    assert not os.path.exists(base)
    with pytest.raises(MspError, match="holds this organization's CA key"):
        ensure_public(str(tmp_path / "orderers-home"), "orderer.example.com", "OrdererMSP", home["ca_cert"],
                      home["tls_ca_cert"])


# One organization over several hosts: the CA's host issues for the public keys of the others' nodes.

ORDERER_DOMAIN = "orderer.example.com"
CA_HOST_IDENTITIES = [{"name": "orderer1", "kind": "orderer"}, {"name": "admin", "kind": "admin"}]
REMOTE = [{"name": "orderer2", "kind": "orderer", "hosts": ["localhost"]}]


def _split(tmp_path):
    """One round: keys on the remote host, certificates issued on the CA's host, installed on the remote."""
    ca_host, remote = str(tmp_path / "ca-host"), str(tmp_path / "remote")
    _changed, asked = ensure_node_keys(remote, ORDERER_DOMAIN, "OrdererMSP", REMOTE)
    ca_changed, ca = ensure_org(ca_host, ORDERER_DOMAIN, "OrdererMSP", CA_HOST_IDENTITIES, requests=asked["requests"])
    certificates = {"ca_cert": ca["ca_cert"], "tls_ca_cert": ca["tls_ca_cert"], "identities": ca["identities"]}
    changed, summary = ensure_node_keys(remote, ORDERER_DOMAIN, "OrdererMSP", REMOTE, certificates=certificates)
    return ca_host, remote, asked, ca_changed, ca, changed, summary


def _files(base):
    return sorted(os.path.relpath(os.path.join(root, name), base)
                  for root, _dirs, names in os.walk(base) for name in names)


def test_a_remote_nodes_keys_stay_on_its_host_and_only_public_keys_are_asked(tmp_path):
    ca_host, remote, asked, _ca_changed, ca, _changed, _summary = _split(tmp_path)
    node = "orderers/orderer2." + ORDERER_DOMAIN
    request = asked["requests"][0]
    assert (request["name"], request["kind"], request["hosts"]) == ("orderer2", "orderer", ["localhost"])
    assert "PRIVATE" not in repr(asked) and "PRIVATE" not in repr(ca)
    assert request["sign_public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert request["sign_cert"] is None and request["tls_cert"] is None
    # The remote host: its keys, the certificates next to them, the public MSP; no CA key.
    assert _files(remote) == sorted([
        "msp/cacerts/ca.crt", "msp/config.yaml", "msp/tlscacerts/tlsca.crt", "tlsca/tlsca.crt",
        node + "/msp/cacerts/ca.crt", node + "/msp/config.yaml", node + "/msp/keystore/priv_sk",
        node + "/msp/signcerts/cert.pem", node + "/msp/tlscacerts/tlsca.crt",
        node + "/tls/ca.crt", node + "/tls/server.crt", node + "/tls/server.key",
        "orderers/orderer1.%s/tls/server.crt" % ORDERER_DOMAIN])
    # The CA's host: orderer2's TLS certificate (a consenter), none of its keys.
    assert os.path.exists(os.path.join(ca_host, node, "tls/server.crt"))
    assert not [f for f in _files(ca_host) if f.startswith(node) and f.endswith(("_sk", ".key"))]
    sign = cert(os.path.join(remote, node, "msp/signcerts/cert.pem"))
    assert signed_by(sign, cert(os.path.join(ca_host, "ca/ca.crt")))
    assert sign.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "orderer"
    tls = cert(os.path.join(remote, node, "tls/server.crt"))
    assert signed_by(tls, cert(os.path.join(ca_host, "tlsca/tlsca.crt")))
    assert tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["orderer2." + ORDERER_DOMAIN, "localhost"]
    with open(os.path.join(remote, node, "tls/server.key"), "rb") as fh:
        key = serialization.load_pem_private_key(fh.read(), password=None)
    assert key.public_key().public_numbers() == tls.public_key().public_numbers()
    assert mode(os.path.join(remote, node, "tls/server.key")) == 0o600
    assert ca["newly_issued"] == ["orderer/orderer2"]
    assert ca["identities"]["orderer/orderer2"]["tls_cert"] == ca["issued"]["orderer/orderer2"]["tls_cert"]


def test_a_second_round_keeps_every_certificate(tmp_path):
    ca_host, remote, _asked, _c, ca, _changed, _summary = _split(tmp_path)
    _changed, asked = ensure_node_keys(remote, ORDERER_DOMAIN, "OrdererMSP", REMOTE)
    assert _changed == [] and asked["requests"][0]["tls_cert"] == ca["issued"]["orderer/orderer2"]["tls_cert"]
    ca_changed, again = ensure_org(ca_host, ORDERER_DOMAIN, "OrdererMSP", CA_HOST_IDENTITIES,
                                   requests=asked["requests"])
    assert ca_changed == [] and again["newly_issued"] == []
    assert again["issued"] == ca["issued"]
    certificates = {"ca_cert": again["ca_cert"], "tls_ca_cert": again["tls_ca_cert"], "identities": again["identities"]}
    changed, _summary = ensure_node_keys(remote, ORDERER_DOMAIN, "OrdererMSP", REMOTE, certificates=certificates)
    assert changed == []
    # Check mode on the converged layout too.
    assert ensure_node_keys(remote, ORDERER_DOMAIN, "OrdererMSP", REMOTE, certificates=certificates,
                            check_mode=True)[0] == []


def test_a_new_tls_host_is_issued_again_for_the_same_key(tmp_path):
    ca_host, remote, _asked, _c, ca, _changed, _summary = _split(tmp_path)
    wanted = [dict(REMOTE[0], hosts=["localhost", "orderer2.internal"])]
    _changed, asked = ensure_node_keys(remote, ORDERER_DOMAIN, "OrdererMSP", wanted)
    _ca_changed, again = ensure_org(ca_host, ORDERER_DOMAIN, "OrdererMSP", CA_HOST_IDENTITIES,
                                    requests=asked["requests"])
    assert again["newly_issued"] == ["orderer/orderer2"]
    assert again["issued"]["orderer/orderer2"]["sign_cert"] == ca["issued"]["orderer/orderer2"]["sign_cert"]
    certificates = {"ca_cert": again["ca_cert"], "tls_ca_cert": again["tls_ca_cert"], "identities": again["identities"]}
    changed, _summary = ensure_node_keys(remote, ORDERER_DOMAIN, "OrdererMSP", wanted, certificates=certificates)
    assert [os.path.relpath(p, remote) for p in changed] == ["orderers/orderer2.%s/tls/server.crt" % ORDERER_DOMAIN]


def test_check_mode_on_a_new_remote_host_writes_nothing_and_asks_nothing(tmp_path):
    remote = str(tmp_path / "remote")
    changed, asked = ensure_node_keys(remote, ORDERER_DOMAIN, "OrdererMSP", REMOTE, check_mode=True)
    assert changed and not os.path.exists(remote)
    assert asked["requests"][0]["sign_public_key"] is None
    _ca_changed, ca = ensure_org(str(tmp_path / "ca-host"), ORDERER_DOMAIN, "OrdererMSP", CA_HOST_IDENTITIES,
                                 requests=asked["requests"], check_mode=True)
    assert ca["issued"] == {}
    certificates = {"ca_cert": ca["ca_cert"], "tls_ca_cert": ca["tls_ca_cert"], "identities": ca["identities"]}
    changed, _summary = ensure_node_keys(remote, ORDERER_DOMAIN, "OrdererMSP", REMOTE, certificates=certificates,
                                         check_mode=True)
    assert os.path.join(remote, "orderers/orderer2.%s/tls/server.crt" % ORDERER_DOMAIN) in changed
    assert not os.path.exists(remote)


def test_certificates_not_for_the_key_or_not_from_the_ca_are_refused(tmp_path):
    _ca_host, remote, _asked, _c, ca, _changed, _summary = _split(tmp_path)
    # Another organization's CA, or a certificate issued for another key, is not installed.
    stranger = ensure_org(str(tmp_path / "stranger"), ORDERER_DOMAIN, "OrdererMSP",
                          [{"name": "orderer2", "kind": "orderer"}])[1]
    forged = {"ca_cert": ca["ca_cert"], "tls_ca_cert": ca["tls_ca_cert"],
              "identities": {"orderer/orderer2": {"sign_cert": ca["issued"]["orderer/orderer2"]["sign_cert"],
                                                  "tls_cert": stranger["identities"]["orderer/orderer2"]["tls_cert"]}}}
    with pytest.raises(MspError, match="the tls_cert given is not for its key"):
        ensure_node_keys(remote, ORDERER_DOMAIN, "OrdererMSP", REMOTE, certificates=forged)
    with pytest.raises(MspError, match="no sign_cert was issued"):
        ensure_node_keys(remote, ORDERER_DOMAIN, "OrdererMSP", REMOTE,
                         certificates={"ca_cert": ca["ca_cert"], "tls_ca_cert": ca["tls_ca_cert"], "identities": {}})


def test_admins_stay_on_the_ca_host_and_a_ca_host_does_not_request(tmp_path):
    with pytest.raises(MspError, match="an admin is made on the host of the organization's CA"):
        ensure_node_keys(str(tmp_path / "r"), ORDERER_DOMAIN, "OrdererMSP", [{"name": "admin", "kind": "admin"}])
    with pytest.raises(MspError, match="not requested from another host"):
        ensure_org(str(tmp_path / "c"), ORDERER_DOMAIN, "OrdererMSP", [], requests=[{"name": "admin", "kind": "admin"}])
    with pytest.raises(MspError, match="sign_public_key is not a PEM public key"):
        ensure_org(str(tmp_path / "c"), ORDERER_DOMAIN, "OrdererMSP", [],
                   requests=[{"name": "orderer2", "kind": "orderer", "sign_public_key": "junk"}])
    ca_host = str(tmp_path / "ca-host")
    ensure_org(ca_host, ORDERER_DOMAIN, "OrdererMSP", CA_HOST_IDENTITIES)
    with pytest.raises(MspError, match="holds this organization's CA key"):
        ensure_node_keys(ca_host, ORDERER_DOMAIN, "OrdererMSP", REMOTE)


def pem(key, password=None):
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def read(path):
    with open(path, "rb") as fh:
        return fh.read()


def public(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_an_admin_key_brought_from_outside_replaces_the_admins_key_and_gets_its_certificate(org):
    base = org[0]
    admin = os.path.join(base, "admins", "admin." + DOMAIN)
    peer_key = read(os.path.join(base, "peers", "peer0." + DOMAIN, "msp/keystore/priv_sk"))
    tls_key = read(os.path.join(admin, "tls/client.key"))
    brought = ec.generate_private_key(ec.SECP256R1())
    key_path, cert_path = os.path.join(admin, "msp/keystore/priv_sk"), os.path.join(admin, "msp/signcerts/cert.pem")
    changed = ensure_org(base, DOMAIN, "ManufacturerMSP", IDENTITIES, admin_key=pem(brought))[0]
    assert sorted(changed) == [key_path, cert_path]
    assert mode(key_path) == 0o600
    written = serialization.load_pem_private_key(read(key_path), password=None)
    assert public(written) == public(brought)
    admin_cert = cert(cert_path)
    assert admin_cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo) == public(brought)
    assert signed_by(admin_cert, cert(os.path.join(base, "ca/ca.crt")))
    assert admin_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "admin"
    # Nothing else moved: the peer's key, the admin's TLS key (made here, as before).
    assert read(os.path.join(base, "peers", "peer0." + DOMAIN, "msp/keystore/priv_sk")) == peer_key
    assert read(os.path.join(admin, "tls/client.key")) == tls_key
    # The same key again (in another PEM form) changes nothing; check mode with a new one writes nothing.
    sec1 = brought.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption()).decode()
    assert ensure_org(base, DOMAIN, "ManufacturerMSP", IDENTITIES, admin_key=sec1)[0] == []
    other = ec.generate_private_key(ec.SECP256R1())
    changed = ensure_org(base, DOMAIN, "ManufacturerMSP", IDENTITIES, admin_key=pem(other), check_mode=True)[0]
    assert sorted(changed) == [key_path, cert_path]
    assert public(serialization.load_pem_private_key(read(key_path), password=None)) == public(brought)


@pytest.mark.parametrize("key, message", [
    (ec.generate_private_key(ec.SECP384R1()), "is ECDSA on secp384r1, not ECDSA P-256"),
    (rsa.generate_private_key(public_exponent=65537, key_size=2048), "is an RSA key, not ECDSA P-256"),
    (ed25519.Ed25519PrivateKey.generate(), "is an Ed25519 key, not ECDSA P-256"),
])
def test_an_admin_key_fabric_cannot_sign_with_is_refused_before_anything_is_written(tmp_path, key, message):
    text = pem(key)
    problems = admin_key_problems(text)
    assert len(problems) == 1 and message in problems[0] and "openssl genpkey" in problems[0]
    with pytest.raises(MspError, match=message):
        ensure_org(str(tmp_path / "org"), DOMAIN, "ManufacturerMSP", IDENTITIES, admin_key=text)
    assert not os.path.exists(tmp_path / "org")


def test_admin_key_problems_name_encrypted_and_unreadable_keys_without_quoting_them():
    key = ec.generate_private_key(ec.SECP256R1())
    assert admin_key_problems(pem(key)) == []
    assert admin_key_problems(pem(key, b"pass")) == [
        "the admin key is encrypted; give it unencrypted (the credential or vault keeps it secret)"]
    assert admin_key_problems("CHANGE-ME: the admin's key") == ["the admin key is not a PEM private key"]


def test_an_admin_key_needs_one_admin_identity(tmp_path):
    key = pem(ec.generate_private_key(ec.SECP256R1()))
    for identities, count in (([IDENTITIES[0]], 0), (IDENTITIES + [{"name": "admin2", "kind": "admin"}], 2)):
        with pytest.raises(MspError, match="the identities have %d admins" % count):
            ensure_org(str(tmp_path / "org"), DOMAIN, "ManufacturerMSP", identities, admin_key=key)
