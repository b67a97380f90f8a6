# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.filter.ufw_rules import (
    FilterModule,
    ufw_admits,
    ufw_docker_rules,
    ufw_missing_rules,
    ufw_rule_errors,
    ufw_rules,
    ufw_stale_rules,
    ufw_tuples,
)

TAG = "keel-managed"
DEFAULTS = [{"port": 22, "proto": "tcp", "limit": True}, {"port": 80}, {"port": 443, "proto": "tcp"}]

# What ufw 0.36 writes to user.rules and user6.rules (comments are hex-encoded).
USER_RULES = """
### tuple ### limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=6b65656c2d6d616e61676564
### tuple ### allow tcp 8080 0.0.0.0/0 any 0.0.0.0/0 in comment=6b65656c2d6d616e61676564
### tuple ### allow tcp 5432 0.0.0.0/0 any 10.1.0.0/16 in comment=6b65656c2d6d616e616765642064623a
### tuple ### allow tcp 9000 0.0.0.0/0 any 0.0.0.0/0 in
### tuple ### allow tcp 9100 0.0.0.0/0 any 0.0.0.0/0 in comment=6f7468657273
### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 OpenSSH - in comment=6b65656c2d6d616e61676564
### tuple ### limit tcp 22 ::/0 any ::/0 in comment=6b65656c2d6d616e61676564
### tuple ### allow tcp 8080 ::/0 any ::/0 in comment=6b65656c2d6d616e61676564
### tuple ### allow udp 53 ::/0 any 2001:db8::/32 in comment=6b65656c2d6d616e61676564
"""


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "ufw_admits",
        "ufw_docker_rules",
        "ufw_missing_rules",
        "ufw_rule_errors",
        "ufw_rules",
        "ufw_stale_rules",
    }


def test_defaults_are_fine():
    assert ufw_rule_errors(DEFAULTS, ssh_port=22) == []


@pytest.mark.parametrize(
    "item, fragment",
    [
        ({"port": "22a"}, "port '22a' must be a number"),
        ({"port": 70000}, "port 70000 is out of range"),
        ({"port": 0}, "port 0 is out of range"),
        ({"port": True}, "port True must be a number"),
        ({"port": "7000:6000"}, "is not a range"),
        ({"port": "6000:6007", "proto": "any"}, "range needs proto tcp or udp"),
        ({"port": 80, "proto": "icmp"}, "proto 'icmp' must be one of"),
        ({"port": 80, "src": "10.0.0.300/8"}, "src '10.0.0.300/8' is not an IP address or CIDR"),
        ({"port": 80, "src": "10.0.0.1/8"}, "has host bits set"),
        ({"port": 80, "limit": "yes"}, "limit must be true or false"),
        ({"port": 80, "prot": "tcp"}, "unknown key(s) prot"),
        ({"proto": "tcp"}, "has no port"),
        ({"port": 80, "comment": "it's"}, "comment"),
        ("80/tcp", "must be a dictionary"),
    ],
)
def test_bad_items_are_reported(item, fragment):
    errors = ufw_rule_errors([{"port": 22}, item])
    assert len(errors) == 1
    assert errors[0].startswith("item 2")
    assert fragment in errors[0]


def test_not_a_list():
    assert "must be a list" in ufw_rule_errors({"port": 22})[0]


@pytest.mark.parametrize("rules", [[], [{"port": 80}, {"port": 443}], [{"port": 22, "proto": "udp"}]])
def test_a_list_that_drops_ssh_is_refused(rules):
    errors = ufw_rule_errors(rules, ssh_port=22)
    assert len(errors) == 1
    assert "no item allows SSH on port 22/tcp" in errors[0]


@pytest.mark.parametrize("rules", [[{"port": "20:30"}], [{"port": "22", "proto": "any"}], [{"port": 2222}]])
def test_ssh_may_come_from_a_range_or_any_proto(rules):
    ssh_port = 2222 if rules[0]["port"] == 2222 else 22
    assert ufw_rule_errors(rules, ssh_port=ssh_port) == []


def test_rules_are_normalized_and_tagged():
    extra = [{"port": "5432", "src": "10.1.0.0/16", "comment": "db"}, {"port": 80}, {"port": 53, "src": "192.0.2.7"}]
    rules = ufw_rules(DEFAULTS + extra, TAG)
    assert rules == [
        {"rule": "limit", "port": "22", "proto": "tcp", "src": "any", "comment": TAG},
        {"rule": "allow", "port": "80", "proto": "tcp", "src": "any", "comment": TAG},
        {"rule": "allow", "port": "443", "proto": "tcp", "src": "any", "comment": TAG},
        {"rule": "allow", "port": "5432", "proto": "tcp", "src": "10.1.0.0/16", "comment": TAG + " db"},
        {"rule": "allow", "port": "53", "proto": "tcp", "src": "192.0.2.7/32", "comment": TAG},
    ]


def test_invalid_rules_raise():
    with pytest.raises(AnsibleFilterError, match="port '22a'"):
        ufw_rules([{"port": "22a"}], TAG)


def test_tuples_are_parsed_with_comments():
    tuples = ufw_tuples(USER_RULES)
    assert len(tuples) == 9
    assert tuples[0] == {
        "rule": "limit",
        "proto": "tcp",
        "port": "22",
        "src": "0.0.0.0/0",
        "direction": "in",
        "app": False,
        "comment": TAG,
    }
    assert tuples[2]["comment"] == TAG + " db:"
    assert tuples[5]["app"] is True


def test_stale_rules_are_the_tagged_ones_not_wanted():
    desired = ufw_rules(DEFAULTS, TAG)
    stale = ufw_stale_rules(USER_RULES, desired, TAG)
    # 8080 appears once although ufw keeps a v4 and a v6 copy; untagged (9000),
    # foreign-tagged (9100) and application rules are left alone.
    assert stale == [
        {"rule": "allow", "proto": "tcp", "port": "8080", "src": "any", "comment": TAG},
        {"rule": "allow", "proto": "tcp", "port": "5432", "src": "10.1.0.0/16", "comment": TAG + " db:"},
        {"rule": "allow", "proto": "udp", "port": "53", "src": "2001:db8::/32", "comment": TAG},
    ]


def test_a_changed_action_makes_the_old_rule_stale():
    desired = ufw_rules([{"port": 22}], TAG)  # allow instead of limit
    text = "### tuple ### limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=6b65656c2d6d616e61676564"
    stale = ufw_stale_rules(text, desired, TAG)
    assert stale == [{"rule": "limit", "proto": "tcp", "port": "22", "src": "any", "comment": TAG}]


def test_a_single_address_matches_its_host_cidr():
    desired = ufw_rules([{"port": 22, "src": "192.0.2.7/32"}], TAG)
    text = "### tuple ### allow tcp 22 0.0.0.0/0 any 192.0.2.7 in comment=6b65656c2d6d616e61676564"
    assert ufw_stale_rules(text, desired, TAG) == []


def test_nothing_is_stale_on_an_empty_file():
    assert ufw_stale_rules("", [], TAG) == []


def test_an_empty_tag_is_refused():
    with pytest.raises(AnsibleFilterError, match="tag must not be empty"):
        ufw_stale_rules(USER_RULES, [], "")


def test_rules_held_in_both_families_are_not_missing():
    desired = ufw_rules([{"port": 22, "limit": True}], TAG)
    assert ufw_missing_rules(USER_RULES, desired) == []


def test_a_rule_without_its_ipv6_copy_is_missing_only_with_ipv6():
    desired = ufw_rules([{"port": 80}], TAG)
    text = "### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in comment=6b65656c2d6d616e61676564"
    assert ufw_missing_rules(text, desired, True) == desired
    assert ufw_missing_rules(text, desired, False) == []


def test_a_rule_for_one_network_needs_that_family_only():
    database = {"port": 5432, "src": "10.1.0.0/16", "comment": "db:"}
    dns = {"port": 53, "proto": "udp", "src": "2001:db8::/32"}
    desired = ufw_rules([database, dns], TAG)
    assert ufw_missing_rules(USER_RULES, desired) == []


@pytest.mark.parametrize(
    "line",
    [
        "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=6b65656c2d6d616e61676564",  # allow, not limit
        "### tuple ### limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=6f7468657273",  # another comment
        "### tuple ### limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 in",  # no comment
        "### tuple ### limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 out comment=6b65656c2d6d616e61676564",  # outgoing
        "### tuple ### limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 OpenSSH - in comment=6b65656c2d6d616e61676564",  # app
    ],
)
def test_a_rule_that_differs_is_missing(line):
    desired = ufw_rules([{"port": 22, "limit": True}], TAG)
    assert ufw_missing_rules(line, desired, False) == desired


def test_everything_is_missing_on_an_empty_file():
    desired = ufw_rules(DEFAULTS, TAG)
    assert ufw_missing_rules("", desired) == desired


@pytest.mark.parametrize(
    "rules, address, port, expected",
    [
        (DEFAULTS, "203.0.113.9", 22, True),
        ([{"port": 22, "src": "10.0.0.0/8"}], "10.20.30.40", 22, True),
        ([{"port": 22, "src": "10.0.0.0/8"}], "192.0.2.1", 22, False),
        ([{"port": 22, "src": "10.0.0.0/8"}], "2001:db8::1", 22, False),
        ([{"port": 22, "src": "2001:db8::/32"}], "2001:db8::1", 22, True),
        ([{"port": 22, "proto": "udp"}], "192.0.2.1", 22, False),
        ([{"port": "2000:3000"}], "192.0.2.1", 2222, True),
        ([{"port": 443}], "192.0.2.1", 22, False),
    ],
)
def test_admits(rules, address, port, expected):
    assert ufw_admits(rules, address, port) is expected


def test_admits_refuses_a_bad_address():
    with pytest.raises(AnsibleFilterError, match="not an IP address"):
        ufw_admits(DEFAULTS, "keel-h-client", 22)


def _docker_rules(lines):
    """The allow lines of a DOCKER-USER section (those with a port)."""
    return [line for line in lines if "--ctorigdstport" in line]


def test_docker_rules_let_in_what_the_list_lets_in_and_drop_the_rest():
    lines = ufw_docker_rules(DEFAULTS + [{"port": 5432, "src": "10.0.0.2"}], 4)
    assert lines[:2] == ["*filter", ":DOCKER-USER - [0:0]"]
    assert lines[-1] == "COMMIT"
    assert lines[-2] == "-A DOCKER-USER -j DROP"
    assert "-A DOCKER-USER -m conntrack ! --ctstate DNAT -j RETURN" in lines
    assert _docker_rules(lines) == [
        "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 22 -j RETURN",
        "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 80 -j RETURN",
        "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 443 -j RETURN",
        "-A DOCKER-USER -p tcp -s 10.0.0.2/32 -m conntrack --ctorigdstport 5432 -j RETURN",
    ]
    # The answers and the containers' own traffic come before any verdict.
    assert lines.index("-A DOCKER-USER -i br-+ -j RETURN") < lines.index(_docker_rules(lines)[0])


def test_docker_rules_keep_each_family_to_its_own_sources():
    rules = [{"port": 22}, {"port": 5432, "src": "10.0.0.0/24"}, {"port": 5433, "src": "2001:db8::/64"},
             {"port": 53, "proto": "any", "src": "::/0"}]
    four = _docker_rules(ufw_docker_rules(rules, 4))
    six = _docker_rules(ufw_docker_rules(rules, 6))
    assert [line.split("--ctorigdstport ")[1] for line in four] == ["22 -j RETURN", "5432 -j RETURN"]
    assert six == [
        "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 22 -j RETURN",
        "-A DOCKER-USER -p tcp -s 2001:db8::/64 -m conntrack --ctorigdstport 5433 -j RETURN",
        "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 53 -j RETURN",
        "-A DOCKER-USER -p udp -m conntrack --ctorigdstport 53 -j RETURN",
    ]


def test_docker_rules_follow_the_policy_and_the_log_level():
    assert ufw_docker_rules([{"port": 22}], 4, policy="reject")[-2] == "-A DOCKER-USER -j REJECT"
    allowed = ufw_docker_rules([{"port": 22}], 4, policy="allow")
    assert not any("DROP" in line or "REJECT" in line or "LOG" in line for line in allowed)
    assert any("-j LOG" in line for line in ufw_docker_rules([{"port": 22}], 4))
    assert not any("-j LOG" in line for line in ufw_docker_rules([{"port": 22}], 4, logging="off"))
    # A port range and a limit item: the range as conntrack takes it, the limit as an allow.
    ranged = _docker_rules(ufw_docker_rules([{"port": "6000:6007", "proto": "udp", "limit": True}], 4))
    assert ranged == ["-A DOCKER-USER -p udp -m conntrack --ctorigdstport 6000:6007 -j RETURN"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([{"port": 0}], 4), "out of range"),
        (([{"port": 22}], 5), "family must be 4 or 6"),
        (([{"port": 22}], 4, "open"), "policy must be"),
    ],
)
def test_docker_rules_refuse_bad_input(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        ufw_docker_rules(*args)
