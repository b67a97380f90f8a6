"""A Fabric organization's job whose admin key comes from an AWX credential, run the way AWX 24.6.1 runs it
(testbed/awx_job.py).

converge.yml launched "Keel Fabric network" with Manufacturer's "Keel Fabric organization admin" credential:
AWX writes its key as a 0600 file of the job and hands its path on in an extra-vars file of the credential's.
These tests look at the job's files, at the host (the key root-only, the admin's certificate for it) and at
the network (the admin joined, approved and commits), then relaunch it, launch it with a key Fabric cannot
sign with, and with the next key (a rotation).
"""

import copy
import json
import re
from pathlib import Path

import awx_job  # testbed/awx_job.py, put on sys.path by awx_helpers
import pytest
import yaml
from awx_helpers import WORK, job_text
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from thermotrace_verify import admin, org_dir, peer_env, tls_ca, tools

HOST = "keel-fawx-1"
testinfra_hosts = [f"ansible://{HOST}"]
ADMIN = admin("manufacturer")
KEY, CERT = f"{ADMIN}/msp/keystore/priv_sk", f"{ADMIN}/msp/signcerts/cert.pem"
PEER = "peer0.manufacturer.thermotrace.example:9051"
ORDERER = "orderer1.orderer.thermotrace.example:8050"
ENV = peer_env("manufacturer", "ManufacturerMSP", PEER)


def public(pem_key):
    key = serialization.load_pem_private_key(pem_key.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def cert_public(cert):
    return cert.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_lines(name):
    """The body of one of the keys made for the credential, line by line: what must never show in a job."""
    return (WORK / name).read_text().strip().splitlines()[1:-1]


def admin_state(host):
    """The admin's key and certificate and the running containers, as fingerprints."""
    return host.check_output(f"sha256sum {KEY} {CERT}; docker ps -q --no-trunc | sort")


def with_key(launch, name):
    changed = copy.deepcopy(launch)
    changed["credentials"][0]["inputs"]["admin_private_key"] = (WORK / name).read_text()
    return changed


def invoke(shipment, value, at):
    args = ["peer", "chaincode", "invoke", "-o", ORDERER, "--tls", "--cafile", tls_ca("orderer"),
            "-C", "thermotrace", "-n", "thermotrace", "--waitForEvent", "--peerAddresses", PEER,
            "--tlsRootCertFiles", tls_ca("manufacturer"),
            "-c", json.dumps({"function": "recordReading", "Args": [shipment, "sensor-a", value, "C", at]})]
    return tools(HOST, args, ENV)


def history(shipment):
    out = tools(HOST, ["peer", "chaincode", "query", "-C", "thermotrace", "-n", "thermotrace", "-c",
                       json.dumps({"function": "getShipmentHistory", "Args": [shipment]})], ENV)
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def relaunch(launch):
    return awx_job.launch(launch)


def test_the_job_carried_the_admin_key_as_awx_injects_it(first_job):
    assert first_job["status"] == "successful", first_job["stdout"][-3000:]
    assert first_job["changed"][HOST] > 0
    job = Path(first_job["private_data_dir"])
    # The credential's extra variables: a file of their own (0400), handed on after the job's arguments.
    cmdline = (job / "env" / "cmdline").read_text()
    found = re.fullmatch(r"-u deploy --become-method sudo --ask-become-pass -e @/runner/env/(tmp\w+)", cmdline)
    assert found, cmdline
    extra = job / "env" / found.group(1)
    assert extra.stat().st_mode & 0o777 == 0o400
    values = yaml.safe_load(extra.read_text().replace("!unsafe ", ""))
    assert values["fabric_admin_msp_id"] == "ManufacturerMSP"
    # The key: a 0600 file of the job, named by its path inside the execution environment.
    assert values["fabric_admin_key_file"].startswith("/runner/env/tmp")
    key_file = job / "env" / Path(values["fabric_admin_key_file"]).name
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_text().strip() == (WORK / "admin_key.pem").read_text().strip()


def test_the_admin_signs_with_the_credentials_key_kept_root_only_on_the_host(host):
    key = host.file(KEY)
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)
    assert public(key.content_string) == public((WORK / "admin_key.pem").read_text())
    cert = x509.load_pem_x509_certificate(host.file(CERT).content)
    assert cert_public(cert) == public((WORK / "admin_key.pem").read_text())
    assert cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "admin"
    ca = x509.load_pem_x509_certificate(host.file(f"{org_dir('manufacturer')}/ca/ca.crt").content)
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    # The other organization's admin key was made on the host, as every key without a credential.
    orderer_key = host.file(f"{admin('orderer')}/msp/keystore/priv_sk")
    assert orderer_key.mode == 0o600
    assert public(orderer_key.content_string) != public((WORK / "admin_key.pem").read_text())


def test_the_credentials_admin_joined_approved_and_commits(host):
    joined = tools(HOST, ["peer", "channel", "list"], ENV)
    assert joined.rc == 0 and "thermotrace" in joined.stdout.split(), joined.stderr
    committed = tools(HOST, ["peer", "lifecycle", "chaincode", "querycommitted", "-C", "thermotrace",
                             "-n", "thermotrace", "-O", "json"], ENV)
    assert committed.rc == 0, committed.stderr
    assert json.loads(committed.stdout)["approvals"] == {"ManufacturerMSP": True}
    out = invoke("SHP-AWX-1", "4.5", "2026-11-24T10:00:00Z")
    assert out.rc == 0 and "status:200" in out.stderr, out.stderr
    assert [reading["value"] for reading in history("SHP-AWX-1")] == [4.5]


# These take `host` too, which keeps them in this order among the host's tests: before the launches below.
def test_a_relaunch_changes_nothing(relaunch, host):
    assert relaunch["status"] == "successful", relaunch["stdout"][-3000:]
    assert not any(relaunch["changed"].values()), relaunch["changed"]  # AWX's stats leave out a host at 0
    assert public(host.file(KEY).content_string) == public((WORK / "admin_key.pem").read_text())


def test_no_key_is_in_the_jobs_events(first_job, relaunch, launch, host):
    secrets = [launch["machine"]["become_password"], *key_lines("admin_key.pem"),
               *launch["machine"]["ssh_key_data"].strip().splitlines()[1:-1],
               *host.file(f"{admin('orderer')}/msp/keystore/priv_sk").content_string.strip().splitlines()[1:-1]]
    for result in (first_job, relaunch):
        assert awx_job.secrets_in(job_text(result), secrets) == []


def test_a_key_fabric_cannot_sign_with_stops_the_job_before_any_change(launch, host):
    before = admin_state(host)
    result = awx_job.launch(with_key(launch, "admin_key_p384.pem"))
    assert result["status"] == "failed" and result["failures"] == {HOST: 1}, result["stdout"][-3000:]
    assert result["changed"].get(HOST, 0) == 0
    assert re.search(r"fabric_admin_key_file /runner/env/tmp\w+: the admin key is ECDSA on secp384r1, not ECDSA "
                     r"P-256", result["stdout"]), result["stdout"][-3000:]
    assert "The Fabric roles stopped before changing anything on keel-fawx-1" in result["stdout"]
    assert admin_state(host) == before
    assert awx_job.secrets_in(job_text(result), key_lines("admin_key_p384.pem")) == []


def test_an_export_for_partners_into_the_jobs_private_data_dir_is_refused_before_any_change(launch, host):
    # Scenario 2's handshake folders, beside inventory_dir: under AWX, inside the job's private data dir.
    before = admin_state(host)
    result = awx_job.launch({**launch, "template": "Keel Fabric export",
                             "inventory_source": "inventories/awx-fabric-exchange"})
    assert result["status"] == "failed" and result["failures"] == {HOST: 1}, result["stdout"][-3000:]
    assert not any(result["changed"].values()), result["changed"]
    assert ("fabric_export_dir /runner/exchange/manufacturer/export is inside this AWX job's private data dir "
            "(/runner), which AWX deletes when the job ends") in " ".join(result["stdout"].split())
    assert admin_state(host) == before


def test_the_next_key_in_the_credential_rotates_the_admin_without_restarting_a_node(launch, host):
    containers = host.check_output("docker ps -q --no-trunc | sort")
    result = awx_job.launch(with_key(launch, "admin_key_next.pem"))
    assert result["status"] == "successful", result["stdout"][-3000:]
    assert result["changed"][HOST] > 0
    assert public(host.file(KEY).content_string) == public((WORK / "admin_key_next.pem").read_text())
    cert = x509.load_pem_x509_certificate(host.file(CERT).content)
    assert cert_public(cert) == public((WORK / "admin_key_next.pem").read_text())
    assert host.check_output("docker ps -q --no-trunc | sort") == containers
    # The new admin commits, and the ledger holds what the former one wrote.
    out = invoke("SHP-AWX-1", "5.0", "2026-11-24T10:05:00Z")
    assert out.rc == 0 and "status:200" in out.stderr, out.stderr
    assert [reading["value"] for reading in history("SHP-AWX-1")] == [4.5, 5.0]
    assert awx_job.secrets_in(job_text(result), key_lines("admin_key_next.pem")) == []
