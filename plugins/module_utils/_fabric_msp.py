# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MSP and TLS material of one Hyperledger Fabric organization, made on the org's own host.

Layout under ``path`` (the one cryptogen made familiar, so Fabric's docs apply):

    ca/ca.key, ca/ca.crt                 the org's signing CA (key never leaves the host)
    tlsca/tlsca.key, tlsca/tlsca.crt     the org's TLS CA
    msp/                                 the org's public MSP definition, the part partners import:
      cacerts/ca.crt, tlscacerts/tlsca.crt, config.yaml (NodeOUs)
    <kind>s/<name>/msp/                  one identity (kind: peer, orderer, admin, client)
      cacerts/ca.crt, tlscacerts/tlsca.crt, signcerts/cert.pem, keystore/priv_sk, config.yaml
    <kind>s/<name>/tls/                  its TLS pair: ca.crt, server.crt + server.key
                                         (client.crt + client.key for admins and clients)

Keys are ECDSA P-256 (what Fabric's default BCCSP expects), PKCS#8 PEM, mode 0600.
Existing keys are never replaced. A certificate is (re)issued when it is missing, expires
within ``renew_days``, or no longer matches what was asked (names, OU, issuer); a CA is
never re-issued while its key exists, since every certificate of the org depends on it.
"""

import datetime
import ipaddress
import os
import re
import tempfile

from ansible_collections.keel.infra.plugins.module_utils._rules import DNS_NAME

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_CRYPTOGRAPHY = False

KINDS = ("peer", "orderer", "admin", "client")
# Fabric MSP IDs and names that end up in channel configuration and file paths.
MSP_ID = re.compile(r"^[A-Za-z][A-Za-z0-9.-]{0,62}$")
NODE_OUS = """NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/ca.crt
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/ca.crt
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/ca.crt
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/ca.crt
    OrganizationalUnitIdentifier: orderer
"""


class MspError(ValueError):
    """Input that cannot make valid MSP material."""


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    if value is None:  # cryptography < 42
        value = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return value


def validate_request(domain, msp_id, identities):
    """Check the input before anything is written; return a list of problems (empty if fine)."""
    problems = []
    if not DNS_NAME.match(domain or ""):
        problems.append("domain %r is not a lowercase DNS name such as manufacturer.example.com" % (domain,))
    if not MSP_ID.match(msp_id or ""):
        problems.append(
            "msp_id %r must start with a letter and hold only letters, digits, '.' and '-' (e.g. ManufacturerMSP)"
            % (msp_id,)
        )
    seen = set()
    for ident in identities:
        name, kind = ident.get("name"), ident.get("kind")
        if kind not in KINDS:
            problems.append("identity %r: kind must be one of %s" % (name, ", ".join(KINDS)))
        if not name or not DNS_NAME.match(name):
            problems.append("identity %r: name must be a lowercase DNS label such as peer0" % (name,))
        if (kind, name) in seen:
            problems.append("identity %r of kind %s is listed twice" % (name, kind))
        seen.add((kind, name))
        for host in ident.get("hosts") or []:
            if not DNS_NAME.match(host) and not _is_ip(host):
                problems.append("identity %r: TLS host %r is neither a DNS name nor an IP address" % (name, host))
    return problems


def _is_ip(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class Writer:
    """Writes files atomically with a mode, or only records them in check mode."""

    def __init__(self, check_mode):
        self.check_mode = check_mode
        self.changed = []

    def write(self, path, data, mode):
        if os.path.exists(path):
            with open(path, "rb") as fh:
                if fh.read() == data:
                    if (os.stat(path).st_mode & 0o777) != mode and not self.check_mode:
                        os.chmod(path, mode)
                        self.changed.append(path)
                    return False
        self.changed.append(path)
        if self.check_mode:
            return True
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            os.makedirs(folder, 0o755)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".keel-")
        try:
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return True


def _load_key(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as fh:
        return serialization.load_pem_private_key(fh.read(), password=None)


def _load_cert(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as fh:
        return x509.load_pem_x509_certificate(fh.read())


def _key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _ensure_key(writer, path, generated):
    """Return the key at path, making one when there is none (never replacing one)."""
    key = _load_key(path)
    if key is None:
        key = generated.get(path) or ec.generate_private_key(ec.SECP256R1())
        generated[path] = key
        writer.write(path, _key_pem(key), 0o600)
    return key


def _name(common_name, domain, ou=None, country=None, locality=None):
    attrs = []
    if country:
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    if locality:
        attrs.append(x509.NameAttribute(NameOID.LOCALITY_NAME, locality))
    attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, domain))
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _san_list(hosts):
    names = []
    for host in hosts:
        if _is_ip(host):
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        else:
            names.append(x509.DNSName(host))
    return names


def _key_usage(key_encipherment, ca):
    """Signing (and for CAs, certificate and CRL signing); key encipherment for CAs and TLS pairs."""
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=key_encipherment,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )


def _cert_matches(cert, subject, issuer_cert, hosts, renew_days, issuer_key):
    if cert is None:
        return False
    if _not_after(cert) - _utcnow() < datetime.timedelta(days=renew_days):
        return False
    if cert.subject != subject or cert.issuer != issuer_cert.subject:
        return False
    try:
        issuer_key.public_key().verify(
            cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
        )
    except Exception:  # noqa: BLE001 - any failure means "not signed by this CA"
        return False
    try:
        current = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        have = sorted(str(v) for v in current)
    except x509.ExtensionNotFound:
        have = []
    return have == sorted(str(v) for v in _san_list(hosts))


def _ensure_ca(writer, folder, stem, common_name, domain, validity_days, generated, country, locality):
    key = _ensure_key(writer, os.path.join(folder, stem + ".key"), generated)
    cert_path = os.path.join(folder, stem + ".crt")
    cert = _load_cert(cert_path)
    pub = key.public_key()
    if cert is not None and cert.public_key().public_numbers() == pub.public_numbers():
        return key, cert
    now = _utcnow()
    ski = x509.SubjectKeyIdentifier.from_public_key(pub)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, domain, country=country, locality=locality))
        .issuer_name(_name(common_name, domain, country=country, locality=locality))
        .public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(key_encipherment=True, ca=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    writer.write(cert_path, _cert_pem(cert), 0o644)
    return key, cert


def _issue(key_pub, subject, ca_key, ca_cert, validity_days, tls, hosts):
    now = _utcnow()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key_pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + datetime.timedelta(days=validity_days), _not_after(ca_cert)))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(key_encipherment=tls, ca=False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if tls:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(_san_list(hosts)), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _ensure_cert(writer, path, key, subject, ca_key, ca_cert, validity_days, renew_days, tls, hosts):
    cert = _load_cert(path)
    if cert is not None and cert.public_key().public_numbers() != key.public_key().public_numbers():
        cert = None
    if not _cert_matches(cert, subject, ca_cert, hosts, renew_days, ca_key):
        cert = _issue(key.public_key(), subject, ca_key, ca_cert, validity_days, tls, hosts)
        writer.write(path, _cert_pem(cert), 0o644)
    return cert


def ensure_org(path, domain, msp_id, identities, check_mode=False, ca_validity_days=3650,
               cert_validity_days=825, renew_days=30, country=None, locality=None):
    """Make or update the org's material under ``path``; return (changed_files, summary)."""
    problems = validate_request(domain, msp_id, identities)
    if problems:
        raise MspError("; ".join(problems))
    writer = Writer(check_mode)
    generated = {}
    ca_key, ca_cert = _ensure_ca(writer, os.path.join(path, "ca"), "ca", "ca." + domain, domain,
                                 ca_validity_days, generated, country, locality)
    tls_key, tls_cert = _ensure_ca(writer, os.path.join(path, "tlsca"), "tlsca", "tlsca." + domain, domain,
                                   ca_validity_days, generated, country, locality)
    ca_pem, tls_pem, ous = _cert_pem(ca_cert), _cert_pem(tls_cert), NODE_OUS.encode()

    def msp_folder(folder):
        writer.write(os.path.join(folder, "cacerts", "ca.crt"), ca_pem, 0o644)
        writer.write(os.path.join(folder, "tlscacerts", "tlsca.crt"), tls_pem, 0o644)
        writer.write(os.path.join(folder, "config.yaml"), ous, 0o644)

    msp_folder(os.path.join(path, "msp"))
    summary = {"msp_id": msp_id, "msp_dir": os.path.join(path, "msp"), "identities": {},
               "ca_cert": ca_pem.decode(), "tls_ca_cert": tls_pem.decode()}
    for ident in identities:
        kind, name = ident["kind"], ident["name"]
        hosts = list(ident.get("hosts") or [])
        base = os.path.join(path, kind + "s", "%s.%s" % (name, domain))
        full = "%s.%s" % (name, domain) if kind in ("peer", "orderer") else "%s@%s" % (name.capitalize(), domain)
        if kind in ("peer", "orderer") and full not in hosts:
            hosts.insert(0, full)
        msp = os.path.join(base, "msp")
        msp_folder(msp)
        sign_key = _ensure_key(writer, os.path.join(msp, "keystore", "priv_sk"), generated)
        _ensure_cert(writer, os.path.join(msp, "signcerts", "cert.pem"), sign_key, _name(full, domain, ou=kind),
                     ca_key, ca_cert, cert_validity_days, renew_days, False, [])
        tls = os.path.join(base, "tls")
        stem = "server" if kind in ("peer", "orderer") else "client"
        tls_pair_key = _ensure_key(writer, os.path.join(tls, stem + ".key"), generated)
        tls_pair = _ensure_cert(writer, os.path.join(tls, stem + ".crt"), tls_pair_key, _name(full, domain), tls_key,
                                tls_cert, cert_validity_days, renew_days, True, hosts)
        writer.write(os.path.join(tls, "ca.crt"), tls_pem, 0o644)
        summary["identities"]["%s/%s" % (kind, name)] = {"dir": base, "subject": full, "tls_hosts": hosts,
                                                         "tls_cert": _cert_pem(tls_pair).decode()}
    return writer.changed, summary


def ensure_public(path, domain, msp_id, ca_cert, tls_ca_cert, node_tls_certs=None, check_mode=False):
    """Write the public material of an organization whose keys are held elsewhere.

    What another organization's host needs of it: the MSP definition (CA and TLS
    CA certificates, NodeOUs) that channel configuration is made from, the TLS
    CA certificate its nodes are reached with, and the TLS certificates of its
    orderers (``node_tls_certs``: full node name -> PEM), which name Raft
    consenters. Refuses a folder that holds the organization's CA key: that
    organization's keys live on this host, and its material is ensure_org's.
    Returns the files written.
    """
    problems = validate_request(domain, msp_id, [])
    certs = {"ca_cert": ca_cert, "tls_ca_cert": tls_ca_cert}
    certs.update(("node_tls_certs[%s]" % name, pem) for name, pem in sorted((node_tls_certs or {}).items()))
    parsed = {}
    for what, pem in certs.items():
        try:
            parsed[what] = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
        except (ValueError, TypeError, AttributeError):
            problems.append("%s is not a PEM certificate" % what)
    for name in sorted(node_tls_certs or {}):
        cert = parsed.get("node_tls_certs[%s]" % name)
        if cert is not None and "tls_ca_cert" in parsed and cert.issuer != parsed["tls_ca_cert"].subject:
            problems.append("the TLS certificate of %s was not issued by the organization's TLS CA" % name)
    if os.path.exists(os.path.join(path, "ca", "ca.key")):
        problems.append("%s holds this organization's CA key: its material is made here, not imported" % path)
    if problems:
        raise MspError("; ".join(problems))
    writer = Writer(check_mode)
    ca_pem, tls_pem = _cert_pem(parsed["ca_cert"]), _cert_pem(parsed["tls_ca_cert"])
    writer.write(os.path.join(path, "msp", "cacerts", "ca.crt"), ca_pem, 0o644)
    writer.write(os.path.join(path, "msp", "tlscacerts", "tlsca.crt"), tls_pem, 0o644)
    writer.write(os.path.join(path, "msp", "config.yaml"), NODE_OUS.encode(), 0o644)
    writer.write(os.path.join(path, "tlsca", "tlsca.crt"), tls_pem, 0o644)
    for name in sorted(node_tls_certs or {}):
        pem = _cert_pem(parsed["node_tls_certs[%s]" % name])
        writer.write(os.path.join(path, "orderers", name, "tls", "server.crt"), pem, 0o644)
    return writer.changed
