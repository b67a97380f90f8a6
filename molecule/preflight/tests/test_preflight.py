"""Every playbook checks every role's input on every host before its first change."""

import json
import os
from pathlib import Path

import pytest
import yaml
from keel_verify import run_playbook

ROOT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
A, B = "keel-pf-a", "keel-pf-b"
testinfra_hosts = [f"ansible://{A}", f"ansible://{B}"]

# Example inventory -> its playbooks, its hosts on the test hosts, and the host
# addresses it names in variables, pointed at the test hosts too.
EXAMPLES = {
    "docker_host": (["docker_host.yml"], {"app1": A}, {}),
    "chiroerp": (["postgres.yml", "kafka.yml"], {"erp1.example.net": A}, {}),
    "5soffice": (["postgres.yml"], {"vps1": A, "backup1": B}, {"vps1": {"postgres_backup_ssh_host": B}}),
    "harden": (["harden.yml"], {"web1": A, "db1": B}, {}),
    "scenario1": (["scenario1.yml"], {"fabric1.thermotrace.example": A}, {}),
    # The example is sized for a 4 vCPU host; the test hosts have 2: smaller plans, the same tenants.
    "litedesk": (["litedesk.yml"], {"ld1.example.net": A}, {"ld1.example.net": {"litedesk_plans": {
        plan: {service: {"cpus": 0.1, "memory": "64M"} for service in ("backend", "frontend", "database")}
        for plan in ("trial", "standard")}}}),
}
# What users keep in Vault; test values.
SECRETS = {
    "vault_postgres_superuser_password": "keel-test-super-31f0",
    **{f"vault_postgres_{name}_password": f"keel-test-{name}-9c2e" for name in (
        "finance_gl", "inventory_core", "sales_core", "procurement_core", "backend", "listener")},
    "vault_postgres_backup_s3_access_key": "keel-test-access",
    "vault_postgres_backup_s3_secret_key": "keel-test-secret-5b7a",
    "vault_postgres_backup_ssh_private_key":
        "-----BEGIN OPENSSH PRIVATE KEY-----\nkeel-test-not-a-key\n-----END OPENSSH PRIVATE KEY-----\n",
    "vault_fabric_couchdb_password": "keel-test-couchdb-41d8",
}
DSA = "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq/ admin@old"

# (inventory, playbook, bad variables, what the message must name). At least as
# many cases per playbook as it has roles; the first two are the values that were
# once accepted (a log size Docker refuses, a backup host name with a space).
CASES = [
    ("docker_host", "docker_host.yml", {"docker_engine_log_max_size": "10 megs"},
     ["docker_engine_log_max_size '10 megs' is not a size Docker accepts"]),
    ("5soffice", "postgres.yml", {"postgres_backup_ssh_host": "backup 1"},
     ["postgres_backup_ssh_host 'backup 1' is not a host name"]),
    ("docker_host", "docker_host.yml", {"base_timezone": "Mars/Olympus Mons"},
     ["base_timezone 'Mars/Olympus Mons' is not a tz database name"]),
    ("docker_host", "docker_host.yml", {"base_apt_proxy": "apt-cache:3142"},
     ["base_apt_proxy 'apt-cache:3142' is not an http:// or https:// address"]),
    ("docker_host", "docker_host.yml", {"docker_engine_registry_mirrors": ["mirror.internal:5000"]},
     ["docker_engine_registry_mirrors", "'mirror.internal:5000'"]),
    ("chiroerp", "kafka.yml", {"kafka_heap_size": "1.5g"}, ["kafka_heap_size '1.5g' is not a JVM heap size"]),
    ("chiroerp", "kafka.yml", {"kafka_memory_limit": "lots"},
     ["kafka_memory_limit 'lots' is not a size Docker accepts"]),
    ("chiroerp", "kafka.yml",
     {"kafka_topics": [{"name": "erp.orders", "configs": {"local.retention.ms": -5}}]},
     ["topic erp.orders: config local.retention.ms must be -1 (no limit) or more, got -5"]),
    ("chiroerp", "kafka.yml", {"docker_engine_log_max_file": 0},
     ["docker_engine_log_max_file '0' is not a positive whole number"]),
    ("chiroerp", "postgres.yml", {"postgres_backup_on_calendar": "every night"},
     ["postgres_backup_on_calendar 'every night' is not a calendar expression systemd accepts"]),
    ("chiroerp", "postgres.yml", {"postgres_resources": {"memory": "4 gigs"}},
     ["the memory of postgres_resources", "'4 gigs' is not a size Docker accepts"]),
    ("chiroerp", "postgres.yml", {"postgres_backup_s3_endpoint": "s3.eu-central-1.amazonaws.com"},
     ["postgres_backup_s3_endpoint 's3.eu-central-1.amazonaws.com' is not an http:// or https:// address"]),
    ("chiroerp", "postgres.yml", {"postgres_port": 70000}, ["postgres_port '70000' is not a port"]),
    ("5soffice", "postgres.yml", {"postgres_backup_ssh_public_key": DSA},
     ["postgres_backup_ssh_public_key", "is a DSA key, which OpenSSH refuses"]),
    ("5soffice", "postgres.yml", {"postgres_backup_retention_days": 90},
     ["postgres_backup_retention_days 90 is outside 7 to 30 days"]),
    ("5soffice", "postgres.yml", {"postgres_databases": [{"name": "orders", "owner": "nobody"}]},
     ["owners that are neither the superuser nor in postgres_users", "nobody"]),
    ("harden", "harden.yml", {"base_timezone": "UTC+2 please"}, ["base_timezone 'UTC+2 please'"]),
    ("harden", "harden.yml", {"users_admin_authorized_keys": []}, ["users_admin_authorized_keys is empty"]),
    ("harden", "harden.yml", {"sshd_port": 0}, ["sshd_port '0' is not a port"]),
    ("harden", "harden.yml", {"ufw_allowed": [{"port": "22a"}]}, ["port '22a' must be a number from 1 to 65535"]),
    ("harden", "harden.yml", {"journald_system_max_use": "lots"},
     ["journald_system_max_use 'lots' is not a size above zero"]),
    ("harden", "harden.yml",
     {"logrotate_apps": [{"name": "app", "paths": ["/var/log/app/*.log"], "rotate": 0}]},
     ["A retention (rotate) of 0 keeps no rotated log at all"]),
    ("harden", "harden.yml", {"unattended_upgrades_reboot_time": "25:00"},
     ["unattended_upgrades_reboot_time '25:00' is not a time of day"]),
    ("harden", "harden.yml", {"nginx_sites": [{"name": "www", "server_names": ["bad host!"]}]},
     ["nginx_sites server_names", "'bad host!' that is not a server name"]),
    ("harden", "harden.yml", {"certbot_email": "hostmaster at example.org"},
     ["certbot_email 'hostmaster at example.org' is not an e-mail address"]),
    ("scenario1", "scenario1.yml", {"fabric_peer_state_database": "MongoDB"},
     ["fabric_peer_state_database must be one of: CouchDB, goleveldb, got: MongoDB"]),
    ("scenario1", "scenario1.yml", {"fabric_channel_batch_timeout": "2 minutes"},
     ["fabric_channel_batch_timeout '2 minutes' is not a duration"]),
    ("scenario1", "scenario1.yml", {"fabric_orderer_memory_limit": "lots"},
     ["fabric_orderer_memory_limit 'lots' is not a size Docker accepts"]),
    ("scenario1", "scenario1.yml", {"fabric_chaincode_memory_limit": "1 GB please"},
     ["fabric_chaincode_memory_limit '1 GB please'"]),
    ("scenario1", "scenario1.yml", {"fabric_peer_wait_timeout": 0}, ["fabric_peer_wait_timeout '0'"]),
    ("scenario1", "scenario1.yml", {"fabric_explorer_enabled": "maybe"}, ["fabric_explorer_enabled", "maybe"]),
    # Found in review: Explorer's checks ran only after the network was up; now in its validate step.
    ("scenario1", "scenario1.yml", {"fabric_explorer_enabled": True, "fabric_explorer_port": 7051},
     ["fabric_explorer_port 7051 is taken by a Fabric node on this host"]),
    ("scenario1", "scenario1.yml", {"docker_engine_log_max_size": "0"},
     ["docker_engine_log_max_size '0' is not a size Docker accepts"]),
    ("scenario1", "scenario1.yml", {"base_apt_https_proxy": "proxy.internal"},
     ["base_apt_https_proxy 'proxy.internal'"]),
    ("scenario1", "scenario1.yml", {"fabric_network": {"organizations": []}}, ["fabric_network"]),
    ("litedesk", "litedesk.yml", {"litedesk_tenants": [{"name": "Acme_1", "plan": "standard"}]},
     ["litedesk_tenants name 'Acme_1' is not a DNS label"]),
    ("litedesk", "litedesk.yml", {"litedesk_tenants": [{"name": "acme", "plan": "gold"}]},
     ["tenant acme has plan 'gold', which litedesk_plans does not define"]),
    ("litedesk", "litedesk.yml", {"litedesk_mode": "both"}, ["litedesk_mode", "both"]),
    ("litedesk", "litedesk.yml", {"nginx_sites_absent": ["old site"]}, ["nginx_sites_absent", "'old site'"]),
    ("litedesk", "litedesk.yml", {"certbot_certificates_absent": ["../live"]},
     ["certbot_certificates_absent", "'../live'"]),
    ("litedesk", "litedesk.yml", {"docker_engine_log_max_size": "huge"},
     ["docker_engine_log_max_size 'huge' is not a size Docker accepts"]),
    ("litedesk", "litedesk.yml", {"base_timezone": "Moon Base/Crater"}, ["base_timezone 'Moon Base/Crater'"]),
]


@pytest.fixture(scope="module")
def play(tmp_path_factory):
    work = tmp_path_factory.mktemp("preflight")
    secrets = work / "secrets.json"
    secrets.write_text(json.dumps(SECRETS))

    def run(inventory, playbook, *args):
        hosts, addresses = EXAMPLES[inventory][1], EXAMPLES[inventory][2]
        overlay = work / f"{inventory}-hosts.yml"
        overlay.write_text(yaml.safe_dump({"all": {"hosts": {
            name: {"ansible_host": test_host, "ansible_connection": "community.docker.docker", "ansible_user": "root",
                   **addresses.get(name, {})}
            for name, test_host in hosts.items()}}}))
        return run_playbook(ROOT / "playbooks" / playbook, "-e", f"@{secrets}", *args,
                            inventory=[ROOT / "inventories" / inventory, overlay], cwd=ROOT)

    return run


@pytest.mark.parametrize("inventory, playbook", [
    (inventory, playbook) for inventory, (playbooks, _hosts, _addresses) in EXAMPLES.items() for playbook in playbooks])
def test_the_example_inventory_passes_the_check_as_shipped(play, inventory, playbook):
    run = play(inventory, playbook, "--tags", "keel_preflight")
    assert run.rc == 0, run.output[-4000:]
    for name in EXAMPLES[inventory][1]:
        assert run.changed(name) == 0


@pytest.mark.parametrize("inventory, playbook, extra, names", CASES,
                         ids=[f"{c[1]}-{next(iter(c[2]))}" for c in CASES])
def test_bad_input_stops_every_host_before_any_change(play, inventory, playbook, extra, names):
    run = play(inventory, playbook, "-e", json.dumps(extra))
    assert run.rc != 0, run.output[-4000:]
    for name in EXAMPLES[inventory][1]:
        assert run.changed(name) == 0, run.output[-4000:]
    for text in names:
        assert run.says(text), run.output[-4000:]
    assert run.says("Nothing was changed on any host")


def test_the_hosts_are_still_as_fresh_as_they_were_made(host):
    # No case installed Docker, wrote an apt proxy, made the admin or bound a key.
    assert not host.exists("docker")
    assert not host.file("/etc/apt/apt.conf.d/01keel-proxy").exists
    assert not host.user("deploy").exists
    assert not host.file("/srv/keel-backups").exists
