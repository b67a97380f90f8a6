# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Talking to Fabric nodes through Fabric's own CLIs (peer, osnadmin).

The Fabric modules run the CLIs in a tools container (module_utils._container_exec)
and read what they print. Parsing, the chaincode-as-a-service package and the
comparison of chaincode definitions live here, free of I/O, so that they are
tested against recorded CLI output.
"""

import base64
import gzip
import hashlib
import io
import json
import re
import tarfile

# The lifecycle's default endorsement policy: the channel's /Channel/Application/Endorsement.
DEFAULT_POLICY_REFERENCE = "/Channel/Application/Endorsement"


class FabricCliError(Exception):
    """A CLI answer that could not be understood."""


def cli_error(out, err):
    """The line of a CLI's output that says what went wrong."""
    lines = [line.strip() for line in (err or "").splitlines() + (out or "").splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Error:"):
            return line
    return lines[-1] if lines else "no output"


def peer_env(msp_id, msp_path, address, tls_root_cert):
    """Environment of the peer CLI acting as an organization's admin against one peer, over TLS."""
    return {
        "CORE_PEER_LOCALMSPID": msp_id,
        "CORE_PEER_MSPCONFIGPATH": msp_path,
        "CORE_PEER_ADDRESS": address,
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_ROOTCERT_FILE": tls_root_cert,
    }


def orderer_args(address, tls_root_cert):
    """The peer CLI's arguments that reach an orderer over TLS."""
    return ["-o", address, "--tls", "--cafile", tls_root_cert]


def parse_channel_list(out):
    """Channels of `peer channel list` ("Channels peers has joined:" then one per line)."""
    channels = []
    started = False
    for raw in (out or "").splitlines():
        line = raw.strip()
        if line.startswith("Channels peers has joined"):
            started = True
            continue
        if started and line:
            channels.append(line)
    if not started:
        raise FabricCliError("unexpected output of `peer channel list`: %r" % (out or "")[:200])
    return channels


def parse_getinfo(out):
    """The blockchain info of `peer channel getinfo` ("Blockchain info: {json}")."""
    match = re.search(r"Blockchain info:\s*(\{.*\})", out or "")
    if not match:
        raise FabricCliError("unexpected output of `peer channel getinfo`: %r" % (out or "")[:200])
    info = json.loads(match.group(1))
    info["height"] = int(info.get("height", 0))
    return info


def parse_osnadmin(out):
    """(HTTP status, JSON body) of an osnadmin command ("Status: 200" then the body)."""
    match = re.search(r"Status:\s*(\d+)", out or "")
    if not match:
        raise FabricCliError("unexpected output of osnadmin: %r" % (out or "")[:200])
    body_text = (out or "")[match.end():].strip()
    try:
        body = json.loads(body_text) if body_text else {}
    except ValueError:
        body = {"error": body_text}
    return int(match.group(1)), body


def ccaas_package(label, address, dial_timeout="10s", tls_required=False):
    """A chaincode-as-a-service package, byte for byte the same for the same input.

    Returns (package bytes, package id). The peer names an installed package
    ``<label>:<sha256 of the package file>``, so a package built again from the
    same input is recognised as installed.
    """
    connection = json.dumps({"address": address, "dial_timeout": dial_timeout, "tls_required": bool(tls_required)},
                            sort_keys=True, indent=2).encode()
    metadata = json.dumps({"label": label, "type": "ccaas"}, sort_keys=True).encode()
    code = _targz([("connection.json", connection)])
    package = _targz([("metadata.json", metadata), ("code.tar.gz", code)])
    return package, "%s:%s" % (label, hashlib.sha256(package).hexdigest())


def _targz(members):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def policy_reference_parameter(reference):
    """validation_parameter (base64) of an ApplicationPolicy that names a channel policy.

    ApplicationPolicy is a protobuf message whose field 2 is the policy reference
    string: tag 0x12, a varint length, the UTF-8 bytes.
    """
    data = reference.encode()
    length = len(data)
    varint = bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        if length:
            varint.append(byte | 0x80)
        else:
            varint.append(byte)
            break
    return base64.b64encode(b"\x12" + bytes(varint) + data).decode()


def policy_args(policy):
    """CLI arguments for an endorsement policy: a channel policy reference or a signature policy."""
    if not policy:
        return []
    if policy.startswith("/"):
        return ["--channel-config-policy", policy]
    return ["--signature-policy", policy]


def expected_parameter(policy, known):
    """The validation_parameter a definition with ``policy`` has, or None when it cannot be told.

    A channel policy reference (and the default, "") is encoded here exactly; a
    signature policy's encoding is taken from ``known``, what this module saw the
    peer make of that policy before.
    """
    if not policy:
        return policy_reference_parameter(DEFAULT_POLICY_REFERENCE)
    if policy.startswith("/"):
        return policy_reference_parameter(policy)
    return (known or {}).get(policy)


def definition_matches(current, wanted, parameter):
    """Whether a committed or approved definition (CLI JSON) is the wanted one.

    ``wanted`` holds version and init_required; ``parameter`` is the expected
    validation_parameter (None: unknown, which counts as different).
    """
    if not current:
        return False
    return (
        str(current.get("version")) == str(wanted["version"])
        and bool(current.get("init_required", False)) == bool(wanted["init_required"])
        and parameter is not None
        and current.get("validation_parameter") == parameter
    )


def approved_package(approved):
    """The package ID an approved definition (queryapproved JSON) points at, or ""."""
    source = (approved or {}).get("source") or {}
    kind = source.get("Type") or source.get("type") or {}
    local = kind.get("LocalPackage") or kind.get("local_package") or {}
    return local.get("package_id") or local.get("PackageID") or ""


def installed_ids(out):
    """Package IDs from `peer lifecycle chaincode queryinstalled --output json`."""
    data = json.loads(out or "{}") if (out or "").strip() else {}
    return [item.get("package_id") for item in data.get("installed_chaincodes") or []]


def not_found(out, err):
    """Whether a lifecycle query failed because the thing asked for does not exist.

    querycommitted answers 404 "namespace X is not defined"; queryapproved of a
    sequence this organization has not approved answers 500 "could not fetch
    approved chaincode definition".
    """
    text = (out or "") + (err or "")
    return ("status: 404" in text or "could not fetch approved chaincode definition" in text
            or "is not defined" in text)
