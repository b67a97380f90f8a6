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
Existing keys are never replaced, except the admin's signing key when the caller brings one
(``admin_key``: an admin key held outside the host, such as in an AWX credential). A
certificate is (re)issued when it is missing, expires within ``renew_days``, or no longer
matches what was asked (names, OU, issuer); a CA is never re-issued while its key exists,
since every certificate of the org depends on it.
"""

import datetime
import ipaddress
import os
import re
import tempfile

from ansible_collections.keel.infra.plugins.module_utils._rules import DNS_NAME

try:
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
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


def _cert_matches(cert, subject, issuer_cert, hosts, renew_days):
    if cert is None:
        return False
    if _not_after(cert) - _utcnow() < datetime.timedelta(days=renew_days):
        return False
    if cert.subject != subject or not _issued_by(cert, issuer_cert):
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


def _current_or_issued(cert, key_pub, subject, ca_key, ca_cert, validity_days, renew_days, tls, hosts):
    """(certificate, issued): ``cert`` when it still fits the key and what is asked, else a new one."""
    if cert is not None and cert.public_key().public_numbers() != key_pub.public_numbers():
        cert = None
    if _cert_matches(cert, subject, ca_cert, hosts, renew_days):
        return cert, False
    return _issue(key_pub, subject, ca_key, ca_cert, validity_days, tls, hosts), True


def _pem_key(pem):
    """An unencrypted private key from PEM text or bytes."""
    return serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)


def admin_key_problems(pem):
    """Why ``pem`` cannot be an organization admin's signing key; [] when it can.

    The one rule for a key brought from outside: the preflight (filter
    fabric_admin_key_errors) and the module both ask it. No message quotes the key.
    """
    try:
        key = _pem_key(pem)
    except TypeError:
        return ["the admin key is encrypted; give it unencrypted (the credential or vault keeps it secret)"]
    except (ValueError, UnsupportedAlgorithm):
        return ["the admin key is not a PEM private key"]
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        kind = ("ECDSA on " + key.curve.name if isinstance(key, ec.EllipticCurvePrivateKey)
                else "an " + type(key).__name__.strip("_").replace("PrivateKey", "") + " key")
        return ["the admin key is %s, not ECDSA P-256 (the keys Fabric's MSP signs with; make one with "
                "`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`)" % kind]
    return []


def _given_key(writer, path, pem):
    """The admin key brought by the caller, written at path unless that key is already there."""
    key = _pem_key(pem)
    current = _load_key(path)
    if current is None or _public_pem(current) != _public_pem(key):
        writer.write(path, _key_pem(key), 0o600)
    return key


def _ensure_cert(writer, path, key, subject, ca_key, ca_cert, validity_days, renew_days, tls, hosts):
    cert, issued = _current_or_issued(_load_cert(path), key.public_key(), subject, ca_key, ca_cert, validity_days,
                                      renew_days, tls, hosts)
    if issued:
        writer.write(path, _cert_pem(cert), 0o644)
    return cert


class _Identity:
    """Where one identity's files are, and the names its certificates carry."""

    def __init__(self, path, domain, ident):
        self.kind, self.name = ident["kind"], ident["name"]
        self.key = "%s/%s" % (self.kind, self.name)
        node = self.kind in ("peer", "orderer")
        self.full = "%s.%s" % (self.name, domain) if node else "%s@%s" % (self.name.capitalize(), domain)
        self.hosts = list(ident.get("hosts") or [])
        if node and self.full not in self.hosts:
            self.hosts.insert(0, self.full)
        self.base = os.path.join(path, self.kind + "s", "%s.%s" % (self.name, domain))
        self.msp = os.path.join(self.base, "msp")
        self.tls = os.path.join(self.base, "tls")
        stem = "server" if node else "client"
        self.sign_key_path = os.path.join(self.msp, "keystore", "priv_sk")
        self.sign_cert_path = os.path.join(self.msp, "signcerts", "cert.pem")
        self.tls_key_path = os.path.join(self.tls, stem + ".key")
        self.tls_cert_path = os.path.join(self.tls, stem + ".crt")
        self.sign_subject = _name(self.full, domain, ou=self.kind)
        self.tls_subject = _name(self.full, domain)

    def summary(self, tls_cert):
        return {"dir": self.base, "subject": self.full, "tls_hosts": self.hosts,
                "tls_cert": _cert_pem(tls_cert).decode()}


def _msp_folder(writer, folder, ca_pem, tls_pem):
    writer.write(os.path.join(folder, "cacerts", "ca.crt"), ca_pem, 0o644)
    writer.write(os.path.join(folder, "tlscacerts", "tlsca.crt"), tls_pem, 0o644)
    writer.write(os.path.join(folder, "config.yaml"), NODE_OUS.encode(), 0o644)


def ensure_org(path, domain, msp_id, identities, check_mode=False, ca_validity_days=3650,
               cert_validity_days=825, renew_days=30, country=None, locality=None, requests=None, admin_key=None):
    """Make or update the org's material under ``path``; return (changed_files, summary).

    ``admin_key``: the admin's signing key (PEM), held outside this host. It takes
    the place of the admin's key here (0600), and the admin's certificate is issued
    for it; the admin's TLS pair is still made here.

    ``requests``: identities whose keys are made on another host of the
    organization (what ensure_node_keys returned there: name, kind, hosts, public
    keys and current certificates). Each gets its certificates issued here for
    its public keys, or its current ones back while they still fit; they are in
    ``summary["issued"]`` (and in ``summary["identities"]``), and an orderer's TLS
    certificate is also written here (a Raft consenter of the channels made here).
    """
    requests = list(requests or [])
    problems = validate_request(domain, msp_id, list(identities) + requests)
    problems.extend("identity %r: an admin is made on the host of the organization's CA, not requested from "
                    "another host" % r.get("name") for r in requests if r.get("kind") == "admin")
    parsed = [(r, _parse_request(r, problems)) for r in requests]
    if admin_key is not None:
        problems.extend(admin_key_problems(admin_key))
        admins = [ident["name"] for ident in identities if ident["kind"] == "admin"]
        if len(admins) != 1:
            problems.append("an admin key was given, for the organization's one admin identity; the identities "
                            "have %d admins" % len(admins))
    if problems:
        raise MspError("; ".join(problems))
    writer = Writer(check_mode)
    generated = {}
    ca_key, ca_cert = _ensure_ca(writer, os.path.join(path, "ca"), "ca", "ca." + domain, domain,
                                 ca_validity_days, generated, country, locality)
    tls_key, tls_cert = _ensure_ca(writer, os.path.join(path, "tlsca"), "tlsca", "tlsca." + domain, domain,
                                   ca_validity_days, generated, country, locality)
    ca_pem, tls_pem = _cert_pem(ca_cert), _cert_pem(tls_cert)
    _msp_folder(writer, os.path.join(path, "msp"), ca_pem, tls_pem)
    summary = {"msp_id": msp_id, "msp_dir": os.path.join(path, "msp"), "identities": {}, "issued": {},
               "newly_issued": [], "ca_cert": ca_pem.decode(), "tls_ca_cert": tls_pem.decode()}
    for ident in identities:
        layout = _Identity(path, domain, ident)
        _msp_folder(writer, layout.msp, ca_pem, tls_pem)
        if admin_key is not None and layout.kind == "admin":
            sign_key = _given_key(writer, layout.sign_key_path, admin_key)
        else:
            sign_key = _ensure_key(writer, layout.sign_key_path, generated)
        _ensure_cert(writer, layout.sign_cert_path, sign_key, layout.sign_subject, ca_key, ca_cert,
                     cert_validity_days, renew_days, False, [])
        tls_pair_key = _ensure_key(writer, layout.tls_key_path, generated)
        tls_pair = _ensure_cert(writer, layout.tls_cert_path, tls_pair_key, layout.tls_subject, tls_key, tls_cert,
                                cert_validity_days, renew_days, True, layout.hosts)
        writer.write(os.path.join(layout.tls, "ca.crt"), tls_pem, 0o644)
        summary["identities"][layout.key] = layout.summary(tls_pair)
    for request, (sign_pub, tls_pub, sign_now, tls_now) in parsed:
        if sign_pub is None or tls_pub is None:
            continue  # its host made no key yet (check mode on a new host): nothing to issue for
        layout = _Identity(path, domain, request)
        sign, new_sign = _current_or_issued(sign_now, sign_pub, layout.sign_subject, ca_key, ca_cert,
                                            cert_validity_days, renew_days, False, [])
        tls, new_tls = _current_or_issued(tls_now, tls_pub, layout.tls_subject, tls_key, tls_cert,
                                          cert_validity_days, renew_days, True, layout.hosts)
        if new_sign or new_tls:
            summary["newly_issued"].append(layout.key)
        if layout.kind == "orderer":
            writer.write(layout.tls_cert_path, _cert_pem(tls), 0o644)
        summary["issued"][layout.key] = {"sign_cert": _cert_pem(sign).decode(), "tls_cert": _cert_pem(tls).decode()}
        summary["identities"][layout.key] = dict(layout.summary(tls), sign_cert=_cert_pem(sign).decode())
    return writer.changed, summary


def _parse_request(request, problems):
    """(sign public key, TLS public key, current sign certificate, current TLS certificate) of a request."""
    found = []
    for field, load in (("sign_public_key", serialization.load_pem_public_key),
                        ("tls_public_key", serialization.load_pem_public_key),
                        ("sign_cert", x509.load_pem_x509_certificate),
                        ("tls_cert", x509.load_pem_x509_certificate)):
        value = request.get(field)
        if not value:
            found.append(None)
            continue
        try:
            found.append(load(value.encode() if isinstance(value, str) else value))
        except (ValueError, TypeError):
            problems.append("identity %r: %s is not a PEM %s" % (
                request.get("name"), field, "public key" if field.endswith("key") else "certificate"))
            found.append(None)
    if found[0] is not None and not isinstance(found[0], ec.EllipticCurvePublicKey):
        problems.append("identity %r: sign_public_key is not an ECDSA key" % request.get("name"))
    if found[1] is not None and not isinstance(found[1], ec.EllipticCurvePublicKey):
        problems.append("identity %r: tls_public_key is not an ECDSA key" % request.get("name"))
    return tuple(found)


def _public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _issued_by(cert, ca_cert):
    if cert.issuer != ca_cert.subject:
        return False
    try:
        ca_cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    except Exception:  # noqa: BLE001 - any failure means "not signed by this CA"
        return False
    return True


def ensure_node_keys(path, domain, msp_id, identities, certificates=None, check_mode=False):
    """Keys of this host's nodes of an organization whose CA is on another host; their certificates once issued.

    Makes (never replaces) each identity's signing and TLS key here and returns,
    in ``summary["requests"]``, what the CA's host needs to issue for them: the
    identity, its public keys and its current certificates. No private key is
    returned. ``certificates`` (what the CA's host gave back: ``ca_cert``,
    ``tls_ca_cert`` and ``identities``, kind/name -> ``sign_cert``/``tls_cert``)
    are installed next to the keys - each only if it is for that key and issued
    by the organization's CA - with the public MSP folders; TLS certificates of
    the organization's other orderers are written too (they name Raft consenters).
    Returns (changed_files, summary).
    """
    problems = validate_request(domain, msp_id, identities)
    problems.extend("identity %r: an admin is made on the host of the organization's CA" % i.get("name")
                    for i in identities if i.get("kind") == "admin")
    if os.path.exists(os.path.join(path, "ca", "ca.key")):
        problems.append("%s holds this organization's CA key: its certificates are issued here, not requested" % path)
    cas = {}
    if certificates:
        for field in ("ca_cert", "tls_ca_cert"):
            try:
                cas[field] = x509.load_pem_x509_certificate(str(certificates.get(field) or "").encode())
            except ValueError:
                problems.append("certificates.%s is not a PEM certificate" % field)
    if problems:
        raise MspError("; ".join(problems))
    writer = Writer(check_mode)
    generated = {}
    layouts = []
    summary = {"msp_id": msp_id, "msp_dir": os.path.join(path, "msp"), "requests": [], "identities": {}}
    keys = {}
    for ident in identities:
        layout = _Identity(path, domain, ident)
        layouts.append(layout)
        sign_key = _ensure_key(writer, layout.sign_key_path, generated)
        tls_key = _ensure_key(writer, layout.tls_key_path, generated)
        keys[layout.key] = (sign_key, tls_key)
        # In check mode on a new host the keys are not written: nothing to ask certificates for yet.
        made = not (check_mode and (layout.sign_key_path in generated or layout.tls_key_path in generated))
        sign_now, tls_now = _load_cert(layout.sign_cert_path), _load_cert(layout.tls_cert_path)
        summary["requests"].append({
            "name": layout.name, "kind": layout.kind, "hosts": list(ident.get("hosts") or []),
            "sign_public_key": _public_pem(sign_key) if made else None,
            "tls_public_key": _public_pem(tls_key) if made else None,
            "sign_cert": _cert_pem(sign_now).decode() if sign_now else None,
            "tls_cert": _cert_pem(tls_now).decode() if tls_now else None,
        })
    if certificates:
        _install(writer, path, domain, layouts, keys, certificates, cas, summary)
    return writer.changed, summary


def _install(writer, path, domain, layouts, keys, certificates, cas, summary):
    """Put the certificates the CA's host issued next to this host's keys (ensure_node_keys)."""
    ca_pem, tls_pem = _cert_pem(cas["ca_cert"]), _cert_pem(cas["tls_ca_cert"])
    _msp_folder(writer, os.path.join(path, "msp"), ca_pem, tls_pem)
    writer.write(os.path.join(path, "tlsca", "tlsca.crt"), tls_pem, 0o644)
    given = certificates.get("identities") or {}
    problems = []
    local = set()
    for layout in layouts:
        local.add(layout.key)
        sign_key, tls_key = keys[layout.key]
        _msp_folder(writer, layout.msp, ca_pem, tls_pem)
        writer.write(os.path.join(layout.tls, "ca.crt"), tls_pem, 0o644)
        tls_cert = None
        for field, key, target, ca in (("sign_cert", sign_key, layout.sign_cert_path, cas["ca_cert"]),
                                       ("tls_cert", tls_key, layout.tls_cert_path, cas["tls_ca_cert"])):
            pem = (given.get(layout.key) or {}).get(field)
            cert = _certificate_for(pem, key, ca)
            if cert is None:
                if writer.check_mode:  # the CA's host has not issued it yet: it would be written
                    writer.changed.append(target)
                    continue
                problems.append("%s: %s" % (layout.key, "no %s was issued for its key" % field if not pem else
                                            "the %s given is not for its key or not issued by the organization's "
                                            "CA" % field))
                continue
            writer.write(target, _cert_pem(cert), 0o644)
            if field == "tls_cert":
                tls_cert = cert
        if tls_cert is not None:
            summary["identities"][layout.key] = layout.summary(tls_cert)
    for key in sorted(given):
        kind, _sep, name = key.partition("/")
        pem = (given[key] or {}).get("tls_cert")
        if kind != "orderer" or key in local or not pem:
            continue
        other = _Identity(path, domain, {"kind": kind, "name": name})
        cert = _certificate_for(pem, None, cas["tls_ca_cert"])
        if cert is None:
            problems.append("%s: its TLS certificate is not issued by the organization's TLS CA" % key)
            continue
        writer.write(other.tls_cert_path, _cert_pem(cert), 0o644)
    if problems:
        raise MspError("; ".join(problems) + " (certificates come from the host of the organization's CA: run it "
                                             "in the same play)")


def _certificate_for(pem, key, ca_cert):
    """The certificate in ``pem`` if it is for ``key`` (any key when None) and issued by ``ca_cert``; else None."""
    if not pem:
        return None
    try:
        cert = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
    except ValueError:
        return None
    if key is not None and cert.public_key().public_numbers() != key.public_key().public_numbers():
        return None
    return cert if _issued_by(cert, ca_cert) else None


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
    _msp_folder(writer, os.path.join(path, "msp"), ca_pem, tls_pem)
    writer.write(os.path.join(path, "tlsca", "tlsca.crt"), tls_pem, 0o644)
    for name in sorted(node_tls_certs or {}):
        pem = _cert_pem(parsed["node_tls_certs[%s]" % name])
        writer.write(os.path.join(path, "orderers", name, "tls", "server.crt"), pem, 0o644)
    return writer.changed
