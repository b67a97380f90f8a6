"""keel.infra.fabric_chaincode against a fake peer CLI that keeps lifecycle state like a channel does."""

import json

import pytest
from ansible_collections.keel.infra.plugins.module_utils._fabric_cli import ccaas_package, expected_parameter
from ansible_collections.keel.infra.plugins.modules import fabric_chaincode

DEFAULT_POLICY = expected_parameter("", {})
NOT_COMMITTED = "Error: query failed with status: 404 - namespace thermotrace is not defined"
NOT_APPROVED = ("Error: query failed with status: 500 - failed to invoke backing implementation of "
                "'QueryApprovedChaincodeDefinition': could not fetch approved chaincode definition (name: "
                "'thermotrace', sequence: '1') on channel 'thermotrace'")


class Channel:
    """A fake peer CLI: installed packages, approvals per (msp, sequence), the committed definition."""

    def __init__(self, installed=(), committed=None, approvals=None):
        self.installed = set(installed)
        self.committed = committed
        self.approvals = dict(approvals or {})
        self.calls = []

    @staticmethod
    def arg(argv, flag):
        return argv[argv.index(flag) + 1] if flag in argv else None

    def __call__(self, argv, environ_update=None, **_kw):
        self.calls.append(argv)
        msp = [a.split("=", 1)[1] for a in argv if a.startswith("CORE_PEER_LOCALMSPID=")][0]
        verb = argv[argv.index("chaincode") + 1]
        return getattr(self, verb)(argv, msp)

    def queryinstalled(self, _argv, _msp):
        return 0, json.dumps({"installed_chaincodes": [{"package_id": p} for p in self.installed]}), ""

    def install(self, _argv, _msp):
        self.installed.add("installed-now")
        return 0, "", ""

    def querycommitted(self, _argv, _msp):
        return (0, json.dumps(self.committed), "") if self.committed else (1, "", NOT_COMMITTED)

    def queryapproved(self, argv, msp):
        found = self.approvals.get((msp, int(self.arg(argv, "--sequence"))))
        return (0, json.dumps(found), "") if found else (1, "", NOT_APPROVED)

    def approveformyorg(self, argv, msp):
        self.approvals[(msp, int(self.arg(argv, "--sequence")))] = {
            "sequence": int(self.arg(argv, "--sequence")), "version": self.arg(argv, "--version"),
            "init_required": "--init-required" in argv, "validation_parameter": DEFAULT_POLICY,
            "source": {"Type": {"LocalPackage": {"package_id": self.arg(argv, "--package-id")}}}}
        return 0, "", ""

    def checkcommitreadiness(self, argv, _msp):
        seq = int(self.arg(argv, "--sequence"))
        return 0, json.dumps({"approvals": {m: (m, seq) in self.approvals for m in ("AMSP", "BMSP")}}), ""

    def commit(self, argv, _msp):
        self.committed = {"sequence": int(self.arg(argv, "--sequence")), "version": self.arg(argv, "--version"),
                          "init_required": False, "validation_parameter": DEFAULT_POLICY}
        return 0, "", ""

    def verbs(self):
        return [c[c.index("chaincode") + 1] for c in self.calls]


def org(msp, peer):
    return {"msp_id": msp, "msp_path": "/%s/msp" % msp, "tls_root_cert": "/%s/tlsca.crt" % msp, "peers": [peer]}


def args(tmp_path, orgs, version="1.0"):
    return {
        "name": "thermotrace", "channel": "thermotrace", "version": version, "label": "thermotrace_1.0",
        "address": "thermotrace-ccaas:9999", "package_path": str(tmp_path / "thermotrace_1.0.tar.gz"),
        "organizations": orgs, "channel_msp_ids": ["AMSP", "BMSP"],
        "commit_peers": [{"address": "a:7051", "tls_root_cert": "/a"}, {"address": "b:9051", "tls_root_cert": "/b"}],
        "orderer_address": "o:7050", "orderer_tls_root_cert": "/o", "container": "thermotrace-tools",
    }


PACKAGE_ID = ccaas_package("thermotrace_1.0", "thermotrace-ccaas:9999")[1]


def test_first_run_installs_approves_for_both_and_commits(run_module, tmp_path):
    channel = Channel()
    out = run_module(fabric_chaincode.main, args(tmp_path, [org("AMSP", "a:7051"), org("BMSP", "b:9051")]), channel)
    assert not out.failed, out.result
    assert out.result["package_id"] == PACKAGE_ID and out.result["sequence"] == 1 and out.result["committed"]
    assert channel.verbs().count("install") == 2 and channel.verbs().count("approveformyorg") == 2
    commit = [c for c in channel.calls if "commit" in c][0]
    assert commit.count("--peerAddresses") == 2
    assert (tmp_path / "thermotrace_1.0.tar.gz").read_bytes() == ccaas_package("thermotrace_1.0",
                                                                               "thermotrace-ccaas:9999")[0]


def test_second_run_changes_nothing(run_module, tmp_path):
    approved = {"sequence": 1, "version": "1.0", "init_required": False, "validation_parameter": DEFAULT_POLICY,
                "source": {"Type": {"LocalPackage": {"package_id": PACKAGE_ID}}}}
    channel = Channel(installed=[PACKAGE_ID], approvals={("AMSP", 1): approved, ("BMSP", 1): approved},
                      committed={"sequence": 1, "version": "1.0", "init_required": False,
                                 "validation_parameter": DEFAULT_POLICY})
    run_module(fabric_chaincode.main, args(tmp_path, [org("AMSP", "a:7051")]), Channel())  # writes the package
    out = run_module(fabric_chaincode.main, args(tmp_path, [org("AMSP", "a:7051"), org("BMSP", "b:9051")]), channel)
    assert out.result["changed"] is False, out.result["changes"]
    assert set(channel.verbs()) == {"queryinstalled", "querycommitted", "queryapproved"}


def test_a_new_version_goes_to_the_next_sequence(run_module, tmp_path):
    committed = {"sequence": 1, "version": "1.0", "init_required": False, "validation_parameter": DEFAULT_POLICY}
    channel = Channel(installed=[PACKAGE_ID], committed=committed)
    out = run_module(fabric_chaincode.main, args(tmp_path, [org("AMSP", "a:7051"), org("BMSP", "b:9051")], "1.1"),
                     channel)
    assert out.result["sequence"] == 2 and out.result["committed"]
    assert channel.committed["version"] == "1.1" and channel.committed["sequence"] == 2


def test_one_org_alone_approves_and_waits_for_the_other(run_module, tmp_path):
    channel = Channel()
    out = run_module(fabric_chaincode.main, args(tmp_path, [org("AMSP", "a:7051")]), channel)
    assert out.result["committed"] is False
    assert out.result["approvals"] == {"AMSP": True, "BMSP": False}
    assert "commit" not in channel.verbs()


def test_check_mode_changes_nothing(run_module, tmp_path):
    channel = Channel()
    out = run_module(fabric_chaincode.main, args(tmp_path, [org("AMSP", "a:7051"), org("BMSP", "b:9051")]), channel,
                     check_mode=True)
    assert out.result["changed"] is True
    assert set(channel.verbs()) <= {"queryinstalled", "querycommitted", "queryapproved"}
    assert not (tmp_path / "thermotrace_1.0.tar.gz").exists()


class RacedChannel(Channel):
    """Another organization's run commits the same definition a moment earlier: ours loses the race."""

    def commit(self, argv, msp):
        super().commit(argv, msp)
        return 1, "", "Error: transaction invalidated with status (MVCC_READ_CONFLICT)"


class LateChannel(Channel):
    """Another organization's run committed the same definition before ours was endorsed."""

    def commit(self, argv, msp):
        super().commit(argv, msp)
        return 1, "", ("Error: proposal failed with status: 500 - failed to invoke backing implementation of "
                       "'CommitChaincodeDefinition': requested sequence is 1, but new definition must be sequence 2")


@pytest.mark.parametrize("channel_class", [RacedChannel, LateChannel])
def test_a_commit_lost_to_another_runs_commit_of_the_same_definition_is_a_success(run_module, tmp_path,
                                                                                  channel_class):
    channel = channel_class()
    out = run_module(fabric_chaincode.main, args(tmp_path, [org("AMSP", "a:7051"), org("BMSP", "b:9051")]), channel)
    assert not out.failed, out.result
    assert out.result["committed"] is True
    assert out.result["changes"][-1] == "commit thermotrace 1.0 sequence 1 (committed by another run at the same time)"
