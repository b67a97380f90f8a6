"""The collection's input rules: each accepts what its target accepts and names what it refuses."""

import pytest
from ansible_collections.keel.infra.plugins.module_utils import _fabric_msp, _rules

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxKOoKhKz9cP0LCWyGI8N1mQ5uDhPStyl2QQNJ1ZSgN admin@laptop"
RSA_TYPE_ED25519_DATA = ED25519.replace("ssh-ed25519", "ssh-rsa", 1)
DSA = "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq/ admin@old"

GOOD = [
    ("stack_name", "kafka"), ("stack_name", "erp_2-db"), ("login_name", "deploy"), ("login_name", "_svc-1"),
    ("dns_label", "acme"), ("dns_label", "acme-2"), ("dns_label", "a" * 63),
    ("boolean", True), ("boolean", False), ("boolean", "true"), ("boolean", "false"), ("boolean", "True"),
    ("dns_name", "backup1.example.net"), ("dns_name", "localhost"), ("host", "203.0.113.31"), ("host", "::1"),
    ("host", "backup1"), ("ip_network", "127.0.0.1"), ("ip_network", "172.16.0.0/12"),
    ("ip_network", "10.1.2.3/8"), ("ip_network", "fd00::/8"), ("port", 22), ("port", "65535"), ("positive_int", 5),
    ("docker_size", "10m"),
    ("docker_size", "1.5g"), ("docker_size", "512MiB"), ("docker_size", 1024), ("docker_size", "100 kb"),
    ("docker_size_or_empty", ""), ("jvm_size", "512m"), ("pg_identifier", "finance_gl"), ("tz_name", "Etc/UTC"),
    ("email", "ops@example.net"), ("http_url", "http://apt-cache:3142"), ("http_url", "https://[::1]:5000/v2"),
    ("http_url_or_empty", ""), ("absolute_path", "/var/backups"), ("env_name", "KAFKA_OPTS"),
    ("not_empty", "x"), ("ssh_public_key", ED25519), ("ssh_public_key", ED25519.rsplit(" ", 1)[0]),
    ("ssh_authorized_key", ED25519), ("ssh_authorized_key", 'from="10.0.0.0/8",no-pty ' + ED25519),
    ("slug", "keelapp"), ("file_name", "example.org"), ("file_name", "db_1-a"), ("server_name", "www.example.net"),
    ("server_name", "*.example.net"), ("systemd_size", "500M"), ("systemd_size", "2G"),
    ("systemd_timespan", "2weeks"), ("systemd_timespan_or_empty", ""), ("time_of_day", "04:30"),
    ("time_of_day", "23:59"), ("crypt_hash_or_empty", ""), ("crypt_hash_or_empty", "$y$j9T$abc$def"),
    ("email_or_empty", ""), ("email_or_empty", "ops@example.net"),
]
BAD = [
    ("stack_name", "Kafka"), ("stack_name", "-x"), ("login_name", "Deploy"), ("login_name", "1admin"),
    ("dns_label", "Acme_1"), ("dns_label", "acme.example"), ("dns_label", "-acme"), ("dns_label", "acme-"),
    ("dns_label", "a" * 64), ("dns_label", ""), ("dns_label", 7),
    ("boolean", "yes please"), ("boolean", "yes"), ("boolean", "1"), ("boolean", 1), ("boolean", ""),
    ("boolean", None),
    ("dns_name", "backup 1"), ("dns_name", "-bad.example"), ("dns_name", ""), ("host", "backup host"),
    ("host", "300.1.1.1.1 x"), ("ip_network", "172.16.0.0/33"),
    ("ip_network", "docker0"), ("ip_network", 12), ("port", 0), ("port", 70000), ("port", "22a"), ("port", True),
    ("positive_int", 0), ("positive_int", -3), ("docker_size", "10 MB-ish"), ("docker_size", "ten"),
    ("docker_size", "0"), ("docker_size", "1.2.3m"), ("docker_size", "10x"), ("docker_size", ""),
    ("jvm_size", "1.5g"), ("jvm_size", "512 m"), ("pg_identifier", "Finance"), ("pg_identifier", "a-b"),
    ("pg_identifier", "x" * 64), ("tz_name", "Europe/Berlin time"), ("email", "ops@"), ("email", "ops example.net"),
    ("http_url", "ftp://x"), ("http_url", "http://a b"), ("http_url", "http://x:99999"), ("absolute_path", "var/x"),
    ("env_name", "1X"), ("not_empty", ""), ("not_empty", []), ("ssh_public_key", "ssh-ed25519"),
    ("ssh_public_key", RSA_TYPE_ED25519_DATA), ("ssh_public_key", "ssh-ed25519 not*base64"),
    ("ssh_public_key", ED25519 + "\n" + ED25519), ("dns_name", "Backup1.example.net"),
    ("dns_name", "a" * 64 + ".example"), ("dns_name", "x." * 127 + "xy"),
    ("ssh_authorized_key", DSA), ("ssh_authorized_key", "# ssh-ed25519 comment"), ("ssh_authorized_key", ""),
    ("ssh_authorized_key", 'command="x" ' + RSA_TYPE_ED25519_DATA), ("slug", "Keel App"), ("file_name", ".hidden"),
    ("server_name", "*"), ("server_name", "www.*.net"), ("systemd_size", "0"), ("systemd_size", "lots"),
    ("systemd_size", "500MB"), ("systemd_timespan", "0d"), ("systemd_timespan", "a while"),
    ("time_of_day", "25:00"), ("time_of_day", "4:30"), ("crypt_hash_or_empty", "hunter2"),
    ("email_or_empty", "ops at example.net"),
]


@pytest.mark.parametrize("rule, value", GOOD)
def test_valid_values_pass(rule, value):
    assert _rules.check(rule, value) is None


@pytest.mark.parametrize("rule, value", BAD)
def test_invalid_values_are_named_with_what_to_set(rule, value):
    reason = _rules.check(rule, value)
    assert reason and reason.startswith(("is ", "has "))


def test_dsa_keys_are_refused_with_the_reason():
    assert "OpenSSH refuses" in _rules.ssh_public_key(DSA)


def test_a_dsa_key_in_authorized_keys_is_not_a_usable_login_key():
    # The lockout guard counted ssh-dss lines as keys the admin could log in with; OpenSSH refuses them.
    assert _rules.ssh_authorized_key('no-pty ' + DSA) is not None


def test_the_same_names_pass_the_dns_rule_of_the_fabric_modules_and_of_the_roles():
    # _fabric_msp had its own DNS pattern; both now read this one.
    assert _fabric_msp.DNS_NAME is _rules.DNS_NAME


def test_every_openssh_signing_type_including_security_keys_is_known():
    assert {"ssh-ed25519", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"} <= set(
        _rules.SSH_KEY_TYPES)


def test_list_rules_name_the_first_bad_item():
    assert _rules.check("http_url[]", ["http://a", "a"]) == (
        "has an item 'a' that is not an http:// or https:// address: use a form such as "
        "http://apt-cache.internal:3142")
    assert _rules.check("http_url[]", "http://a") == "is not a list"


def test_messages_name_variable_value_and_what_to_set():
    assert _rules.input_errors([
        ["docker_engine_log_max_size", "10 MB-ish", "docker_size"],
        ["docker_engine_log_max_file", 5, "positive_int"],
    ]) == ["docker_engine_log_max_size '10 MB-ish' is not a size Docker accepts: use a number with an optional "
           "unit b, k, m or g, such as 10m."]


def test_a_secret_value_is_named_but_never_shown():
    assert _rules.input_errors([["users_admin_password_hash", "hunter2", "crypt_hash_or_empty", "secret"]]) == [
        "users_admin_password_hash (not shown) is not a crypt(3) password hash: use one such as $y$... or $6$... "
        "(mkpasswd), or leave it empty."]
    assert _rules.input_errors([["users_admin_password_hash", "", "crypt_hash_or_empty", "secret"]]) == []
    with pytest.raises(ValueError):
        _rules.input_errors([["keys", ["x"], "ssh_public_key[]", "secret"]])


def test_an_unknown_rule_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown input rule"):
        _rules.check("nope", 1)
