"""keel.infra.fabric_orderer_channel and fabric_peer_channel against fake CLIs (recorded 2.5 output)."""

from ansible_collections.keel.infra.plugins.modules import fabric_orderer_channel, fabric_peer_channel

MEMBER = 'Status: 200\n{\n\t"name": "thermotrace",\n\t"url": "/participation/v1/channels/thermotrace",\n' \
         '\t"consensusRelation": "consenter",\n\t"status": "active",\n\t"height": 4\n}\n'
NOT_MEMBER = 'Status: 404\n{\n\t"error": "cannot find channel thermotrace"\n}\n'
JOINED = 'Status: 201\n{\n\t"name": "thermotrace",\n\t"url": "/participation/v1/channels/thermotrace",\n' \
         '\t"consensusRelation": "consenter",\n\t"status": "onboarding",\n\t"height": 1\n}\n'
ORDERER_ARGS = {
    "channel": "thermotrace", "config_block": "/var/lib/keel/fabric/channels/thermotrace/genesis.block",
    "admin_endpoint": "orderer1.orderer.example.com:8053", "ca_file": "/ca.crt", "client_cert": "/c.crt",
    "client_key": "/c.key", "container": "thermotrace-tools",
}


def test_orderer_already_a_member_is_left_alone(run_module, fake_cli):
    fake = fake_cli([("list", (0, MEMBER, ""))])
    out = run_module(fabric_orderer_channel.main, ORDERER_ARGS, fake)
    assert out.result["changed"] is False and out.result["channel"]["height"] == 4
    assert fake.ran("join") == []
    assert fake.calls[0][:3] == ["/usr/bin/docker", "exec", "thermotrace-tools"]


def test_orderer_joins_with_the_config_block(run_module, fake_cli):
    fake = fake_cli([("list", (0, NOT_MEMBER, "")), ("join", (0, JOINED, ""))])
    out = run_module(fabric_orderer_channel.main, ORDERER_ARGS, fake)
    assert out.result["changed"] is True and out.result["channel"]["status"] == "onboarding"
    join = fake.ran("join")[0]
    assert join[join.index("--config-block") + 1] == ORDERER_ARGS["config_block"]
    assert join[join.index("--client-key") + 1] == "/c.key"


def test_orderer_check_mode_joins_nothing(run_module, fake_cli):
    fake = fake_cli([("list", (0, NOT_MEMBER, ""))])
    out = run_module(fabric_orderer_channel.main, ORDERER_ARGS, fake, check_mode=True)
    assert out.result["changed"] is True
    assert fake.ran("join") == []


def test_orderer_refusal_and_unreachable_admin_endpoint_are_errors(run_module, fake_cli):
    refused = (0, 'Status: 405\n{"error": "system channel exists"}', "")
    fake = fake_cli([("list", (0, NOT_MEMBER, "")), ("join", refused)])
    out = run_module(fabric_orderer_channel.main, ORDERER_ARGS, fake)
    assert out.failed and "refused to join channel thermotrace (405): system channel exists" in out.result["msg"]
    fake = fake_cli([("list", (1, "", "Error: Post \"https://orderer1:8053\": dial tcp: connection refused\n"))])
    out = run_module(fabric_orderer_channel.main, ORDERER_ARGS, fake)
    assert out.failed and "connection refused" in out.result["msg"]


def test_orderer_absent_removes(run_module, fake_cli):
    fake = fake_cli([("list", (0, MEMBER, "")), ("remove", (0, "Status: 204\n", ""))])
    out = run_module(fabric_orderer_channel.main, dict(ORDERER_ARGS, state="absent"), fake)
    assert out.result["changed"] is True and fake.ran("remove")


PEER = {"address": "peer0.manufacturer.example.com:9051", "msp_id": "ManufacturerMSP", "msp_path": "/admin/msp",
        "tls_root_cert": "/m/tlsca.crt"}
PEER_ARGS = {"channel": "thermotrace", "peers": [PEER], "orderer_address": "orderer1.orderer.example.com:8050",
             "orderer_tls_root_cert": "/o/tlsca.crt", "container": "thermotrace-tools", "retries": 2}
LISTED = "Channels peers has joined: \nthermotrace\n"
NONE_LISTED = "Channels peers has joined: \n"
INFO = 'Blockchain info: {"height":3,"currentBlockHash":"YQ==","previousBlockHash":"Yg=="}\n'


def test_peer_already_joined_reports_its_height(run_module, fake_cli):
    fake = fake_cli([("list", (0, LISTED, "")), ("getinfo", (0, INFO, ""))])
    out = run_module(fabric_peer_channel.main, PEER_ARGS, fake)
    assert out.result["changed"] is False
    assert out.result["peers"][PEER["address"]] == {"joined_now": False, "height": 3}
    assert fake.ran("fetch") == [] and fake.ran("join") == []
    assert "CORE_PEER_MSPCONFIGPATH=/admin/msp" in fake.calls[0]


NEWEST = "2026-11-22 10:00:00.000 UTC 0001 INFO [cli.common] readBlock -> Received block: 2\n"


def test_peer_fetches_block_zero_and_joins(run_module, fake_cli):
    fake = fake_cli([("newest", (0, "", NEWEST)), ("list", (0, NONE_LISTED, "")), ("getinfo", (0, INFO, ""))])
    out = run_module(fabric_peer_channel.main, PEER_ARGS, fake)
    assert out.result["changed"] is True
    fetch = fake.ran("fetch")[0]
    block = "/tmp/thermotrace-0.block"  # noqa: S108 - inside the tools container
    assert fetch[fetch.index("fetch") + 1:fetch.index("fetch") + 3] == ["0", block]
    assert fetch[fetch.index("-o") + 1] == "orderer1.orderer.example.com:8050"
    assert fake.ran("join")[0][-2:] == ["-b", block]


def test_peer_check_mode_joins_nothing_and_fetch_failure_is_an_error(run_module, fake_cli):
    fake = fake_cli([("list", (0, NONE_LISTED, ""))])
    out = run_module(fabric_peer_channel.main, PEER_ARGS, fake, check_mode=True)
    assert out.result["changed"] is True and fake.ran("fetch") == []
    unavailable = (1, "", "Error: can't read the block: SERVICE_UNAVAILABLE\n")
    fake = fake_cli([("list", (0, NONE_LISTED, "")), ("fetch", unavailable)])
    out = run_module(fabric_peer_channel.main, PEER_ARGS, fake)
    assert out.failed and "SERVICE_UNAVAILABLE" in out.result["msg"]
    assert len(fake.ran("fetch")) == 2  # bounded retries


def test_a_joined_peer_that_does_not_catch_up_in_time_is_an_error(run_module, fake_cli):
    behind = (0, "", NEWEST.replace("block: 2", "block: 9"))
    fake = fake_cli([("newest", behind), ("list", (0, NONE_LISTED, "")), ("getinfo", (0, INFO, ""))])
    out = run_module(fabric_peer_channel.main, dict(PEER_ARGS, catch_up_timeout=0), fake)
    assert out.failed
    assert "joined thermotrace but reached only height 3 of 10" in out.result["msg"]


# Seen under load: the peer of an organization added to a running channel, just joined from block 0,
# refuses its admin until it has processed the config block that added the organization.
DENIED = (1, "", "Error: received bad response, status 500: access denied for [GetChainInfo][thermotrace]: "
                 "[Failed evaluating policy on signed data during check policy on channel [thermotrace] with policy "
                 "[/Channel/Application/Readers]]\n")


def test_a_just_joined_peer_that_does_not_know_its_organization_yet_is_waited_for(run_module, fake_cli):
    fake = fake_cli([("newest", (0, "", NEWEST)), ("list", (0, NONE_LISTED, "")),
                     ("getinfo", [DENIED, DENIED, (0, INFO, "")])])
    out = run_module(fabric_peer_channel.main, PEER_ARGS, fake)
    assert not out.failed, out.result
    assert out.result["peers"][PEER["address"]] == {"joined_now": True, "height": 3}
    assert len(fake.ran("getinfo")) == 3


def test_access_denied_to_a_peer_that_was_already_joined_is_an_error(run_module, fake_cli):
    fake = fake_cli([("list", (0, LISTED, "")), ("getinfo", DENIED)])
    out = run_module(fabric_peer_channel.main, PEER_ARGS, fake)
    assert out.failed and "access denied for [GetChainInfo]" in out.result["msg"]
    assert len(fake.ran("getinfo")) == 1
