"""The input rules as Jinja tests: the same answers as the rules, one pattern per kind of value in the collection."""

import pathlib
import re

import pytest
from ansible_collections.keel.infra.plugins.module_utils import _rules
from ansible_collections.keel.infra.plugins.test.rules import TESTS
from ansible_collections.keel.infra.plugins.test.rules import TestModule as RulesTests

ROOT = pathlib.Path(__file__).resolve().parents[4]
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxKOoKhKz9cP0LCWyGI8N1mQ5uDhPStyl2QQNJ1ZSgN admin@laptop"
SK_ED25519 = ("sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"
              "eHh4eHh4eHh4AAAABHNzaDo= key@token")


@pytest.mark.parametrize("name", TESTS)
def test_each_test_is_its_rule(name):
    test = RulesTests().tests()[name]
    for value in ("", "ops", "backup1.example.net", ED25519, "ssh-dss AAAA", None, 5):
        assert test(value) is (_rules.RULES[name](value) is None)


def test_every_test_is_documented_beside_the_plugin():
    for name in TESTS:
        assert (ROOT / "plugins" / "test" / f"{name}.yml").is_file(), name


def test_security_key_lines_are_one_answer_for_users_sshd_and_backups():
    # users accepted sk- keys, postgres_backup refused them, the sshd guard matched any sk-*: now one rule.
    tests = RulesTests().tests()
    assert tests["ssh_public_key"](SK_ED25519)
    assert tests["ssh_authorized_key"]('no-touch-required ' + SK_ED25519)


# What a hand-written SSH key, login-name or DNS-name pattern looks like in a role or plugin.
HAND_WRITTEN = re.compile(r"\(ssh-\||ssh-\(ed25519|ecdsa-sha2-nistp\(|\[a-z_\]\[a-z0-9_-\]|\[a-z0-9-\]\{0,61\}")


def test_no_role_or_plugin_writes_its_own_key_login_or_dns_pattern():
    found = []
    for path in list((ROOT / "roles").rglob("*.yml")) + list((ROOT / "plugins").rglob("*.py")):
        if path.name == "_rules.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if HAND_WRITTEN.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "use the rules of module_utils/_rules.py instead:\n" + "\n".join(found)
