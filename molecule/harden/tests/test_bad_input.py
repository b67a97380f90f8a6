"""Bad input is refused with a message that says what to fix, before anything changes."""

import json

import pytest
from harden_helpers import SERVER, run_cases

testinfra_hosts = [f"ansible://{SERVER}"]

# What the roles under test manage, to compare before and after a refused run.
STATE = "ufw status; md5sum /etc/logrotate.d/keel-keelapp /etc/ssh/sshd_config.d/00-keel.conf /etc/sudoers.d/keel-admin"

# Role, variables, and what the refusal must say.
CASES = [
    ("ufw", {"ufw_allowed": [{"port": "22a"}]}, "item 1: port '22a' must be a number from 1 to 65535"),
    ("ufw", {"ufw_allowed": [{"port": 22}, {"port": 70000}]}, "item 2: port 70000 is out of range"),
    ("ufw", {"ufw_allowed": []}, "no item allows SSH on port 22/tcp"),
    ("ufw", {"ufw_allowed": [{"port": 22}, {"port": 80}, {"port": 443}, {"port": 5432, "src": "10.0.0.0/33"}]},
     "src '10.0.0.0/33' is not an IP address or CIDR"),
    ("certbot", {"certbot_certificates": [{"domains": ["keel-h-server", "not_a_host!"]}]},
     "these are not host names: not_a_host!"),
    ("logrotate", {"logrotate_apps": [{"name": "keelapp", "paths": ["/var/log/keelapp/*.log"], "rotate": 0}]},
     "A retention (rotate) of 0 keeps no rotated log at all"),
    ("users", {"users_admin_authorized_keys": []}, "users_admin_authorized_keys is empty"),
    ("unattended_upgrades", {"unattended_upgrades_reboot_time": "25:00"}, "'25:00' is not a time of day"),
    ("journald", {"journald_system_max_use": "0"}, "journald_system_max_use '0' is not a size above zero"),
]


@pytest.fixture(scope="module")
def refusals(host, tmp_path_factory):
    # Every case in one ansible-playbook run, a play each; the host's state is read before and after.
    before = host.check_output(STATE)
    run, messages = run_cases([case[:2] for case in CASES], tmp_path_factory.mktemp("cases"))
    return {"run": run, "messages": messages, "before": before, "after": host.check_output(STATE)}


@pytest.mark.parametrize("role, extra, message", CASES)
def test_bad_input_is_refused_before_any_change(refusals, role, extra, message):
    refused = refusals["messages"][CASES.index((role, extra, message))]
    assert refused is not None, f"{role} did not refuse {extra}:\n{refusals['run'].output[-3000:]}"
    assert message in refused, refused
    assert refusals["run"].recap()["changed"] == 0
    assert refusals["after"] == refusals["before"]


def test_bad_port_through_the_whole_playbook(playbook):
    # The real entry point: the input of every role is checked before any role runs; ufw's is refused.
    run = playbook("converge.yml", "-e", json.dumps({"ufw_allowed": [{"port": "22a", "proto": "tcp"}]}))
    assert run.rc != 0
    assert run.says("ufw_allowed is invalid: item 1: port '22a' must be a number")
    assert run.recap()["changed"] == 0
    assert "PLAY [Harden servers]" not in run.output  # the preflight stopped the run: no role started
    assert run.says("Nothing was changed on any host")
