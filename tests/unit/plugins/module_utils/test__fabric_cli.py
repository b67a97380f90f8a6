"""Parsing of Fabric CLI output (recorded from peer and osnadmin 2.5), packages and definitions."""

import base64
import hashlib
import io
import json
import tarfile

from ansible_collections.keel.infra.plugins.module_utils import _fabric_cli as cli


def test_channel_list_and_getinfo():
    out = ("2026-11-22 08:00:00.000 UTC 0001 INFO [channelCmd] InitCmdFactory -> Endorser and orderer connections "
           "initialized\nChannels peers has joined: \nthermotrace\n")
    assert cli.parse_channel_list(out) == ["thermotrace"]
    assert cli.parse_channel_list("Channels peers has joined: \n") == []
    info = 'Blockchain info: {"height":7,"currentBlockHash":"q83=","previousBlockHash":"aGk="}'
    assert cli.parse_getinfo(info)["height"] == 7


def test_osnadmin_status_and_body():
    status, body = cli.parse_osnadmin(
        'Status: 200\n{\n\t"name": "thermotrace",\n\t"status": "active",\n\t"height": 3\n}\n')
    assert status == 200 and body["height"] == 3
    status, body = cli.parse_osnadmin('Status: 404\n{\n\t"error": "cannot find channel thermotrace"\n}\n')
    assert status == 404 and "cannot find" in body["error"]


def test_ccaas_package_is_stable_and_named_by_its_hash():
    package, package_id = cli.ccaas_package("thermotrace_1.0", "thermotrace-ccaas:9999")
    again, again_id = cli.ccaas_package("thermotrace_1.0", "thermotrace-ccaas:9999")
    assert package == again and package_id == again_id
    assert package_id == "thermotrace_1.0:" + hashlib.sha256(package).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(package)) as outer:
        assert json.load(outer.extractfile("metadata.json")) == {"label": "thermotrace_1.0", "type": "ccaas"}
        with tarfile.open(fileobj=io.BytesIO(outer.extractfile("code.tar.gz").read())) as code:
            connection = json.load(code.extractfile("connection.json"))
    assert connection == {"address": "thermotrace-ccaas:9999", "dial_timeout": "10s", "tls_required": False}
    assert cli.ccaas_package("thermotrace_1.0", "other:9999")[1] != package_id


def test_policy_reference_is_encoded_as_the_peer_encodes_it():
    # Recorded from `peer lifecycle chaincode querycommitted` of a definition with the default policy.
    recorded = "EiAvQ2hhbm5lbC9BcHBsaWNhdGlvbi9FbmRvcnNlbWVudA=="
    assert cli.expected_parameter("", {}) == recorded
    assert base64.b64decode(recorded)[2:] == b"/Channel/Application/Endorsement"
    assert cli.expected_parameter("OR('A.peer')", {}) is None
    assert cli.expected_parameter("OR('A.peer')", {"OR('A.peer')": "xyz"}) == "xyz"
    writers = "/Channel/Application/Writers"
    assert cli.policy_args(writers) == ["--channel-config-policy", writers]
    assert cli.policy_args("OR('A.peer')") == ["--signature-policy", "OR('A.peer')"]


def test_definition_comparison_and_approved_package():
    current = {"sequence": 1, "version": "1.0", "init_required": False,
               "validation_parameter": cli.expected_parameter("", {})}
    wanted = {"version": "1.0", "init_required": False}
    assert cli.definition_matches(current, wanted, cli.expected_parameter("", {}))
    assert not cli.definition_matches(current, dict(wanted, version="1.1"), cli.expected_parameter("", {}))
    assert not cli.definition_matches(current, wanted, None)
    assert not cli.definition_matches(None, wanted, "x")
    approved = {"source": {"Type": {"LocalPackage": {"package_id": "thermotrace_1.0:ab"}}}}
    assert cli.approved_package(approved) == "thermotrace_1.0:ab"
    assert cli.approved_package({"source": {}}) == ""


def test_installed_ids_and_not_found():
    out = '{"installed_chaincodes": [{"package_id": "a:1", "label": "a"}]}'
    assert cli.installed_ids(out) == ["a:1"]
    assert cli.installed_ids("{}") == []
    assert cli.not_found("", "Error: query failed with status: 404 - namespace thermotrace is not defined")
    approved = ("Error: query failed with status: 500 - failed to invoke backing implementation of "
                "'QueryApprovedChaincodeDefinition': could not fetch approved chaincode definition (name: "
                "'thermotrace', sequence: '1') on channel 'thermotrace'")
    assert cli.not_found("", approved)
    assert not cli.not_found("", "Error: failed to connect")
