# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import copy

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.filter.host_fit import host_fit_errors, port_clashes
from ansible_collections.keel.infra.plugins.filter.litedesk import (
    FilterModule,
    litedesk_errors,
    litedesk_plan,
    litedesk_registry,
    litedesk_summary,
)

PLAN = {"backend": {"cpus": 0.5, "memory": "512M"}, "frontend": {"cpus": 0.25, "memory": "128M"},
        "database": {"cpus": 0.5, "memory": "1G"}}
NOW = "2025-03-01T10:00:00Z"
LATER = "2025-03-02T11:30:00Z"
SETTINGS = {
    "mode": "multi",
    "base_domain": "litedesk.example",
    "host": "ld1",
    "hosts": ["ld1", "ld2"],
    "reserved": ["www", "api"],
    "plans": {"standard": PLAN, "trial": {s: {"cpus": 0.1, "memory": "64M"} for s in PLAN}},
    "shared": {"name": "shared", "subdomain": "app", "plan": "standard", "state": "present", "host": ""},
    "ports": [20000, 20009],
    "database": "postgres",
    "images": {"backend": "litedesk/backend:1.0", "frontend": "litedesk/frontend:1.0", "mongodb": "mongo:7.0",
               "postgres": "postgres:16"},
    "service_ports": {"backend": 5000, "frontend": 8080},
    "entry": "frontend",
    "env": {"NODE_ENV": "production", "GREETING": "costs $5"},
    "export_dir": "/var/backups/litedesk",
    "now": NOW,
}
TENANTS = [
    {"name": "acme", "plan": "standard"},
    {"name": "beta", "subdomain": "b", "plan": "trial"},
    {"name": "gamma", "plan": "trial", "host": "ld2"},
]


def settings(**change):
    result = copy.deepcopy(SETTINGS)
    result.update(change)
    return result


def tenants(*extra, **change):
    """TENANTS plus extra tenants; change: {name: {key: value}} applied to the named tenants."""
    result = [dict(t, **change.get(t["name"], {})) for t in TENANTS] + list(extra)
    return result


def by_name(plan):
    return {entry["name"]: entry for entry in plan["instances"]}


def test_registered():
    assert FilterModule().filters() == {
        "litedesk_errors": litedesk_errors, "litedesk_plan": litedesk_plan, "litedesk_registry": litedesk_registry,
        "litedesk_summary": litedesk_summary}


def test_the_example_tenants_are_accepted():
    assert litedesk_errors(TENANTS, SETTINGS) == []


@pytest.mark.parametrize(("tenant", "message"), [
    ({"name": "Acme_1", "plan": "trial"}, "litedesk_tenants name 'Acme_1' is not a DNS label"),
    ({"name": "delta", "subdomain": "d.x", "plan": "trial"}, "litedesk_tenants subdomain of delta 'd.x' is not a DNS"),
    ({"name": "shared", "plan": "trial"}, "tenant shared takes shared, reserved"),
    ({"name": "delta", "subdomain": "app", "plan": "trial"}, "tenant delta takes app, reserved"),
    ({"name": "www", "plan": "trial"}, "tenant www takes www, reserved"),
    ({"name": "acme", "plan": "trial"}, "litedesk_tenants names acme more than once"),
    ({"name": "delta", "subdomain": "b", "plan": "trial"}, "the subdomain b is wanted by more than one instance"),
    ({"name": "delta", "plan": "trial", "state": "gone"}, "tenant delta has state 'gone': use present or absent"),
    ({"name": "delta", "plan": "gold"}, "tenant delta has plan 'gold', which litedesk_plans does not define"),
    ({"name": "delta"}, "tenant delta has plan 'None', which litedesk_plans does not define"),
    ({"name": "delta", "plan": "trial", "host": "ld9"}, "is placed on host 'ld9', which is not a LiteDesk host"),
    ({"name": "delta", "plan": "trial", "port": 70000}, "litedesk_tenants port of delta '70000' is not a port"),
    ({"name": "delta", "plan": "trial", "purge": "yes"}, "tenant delta has purge 'yes': use true or false"),
    ({"name": "delta", "plan": "trial", "size": "xl"}, "tenant delta has unknown keys ['size']"),
    ({"plan": "trial"}, "item 4 {'plan': 'trial'} has no name"),
], ids=["not a DNS label", "subdomain with a dot", "shared instance's name", "shared instance's subdomain",
        "reserved name", "name twice", "subdomain twice", "unknown state", "unknown plan", "no plan",
        "unknown host", "port out of range", "purge not a boolean", "unknown key", "no name"])
def test_bad_tenants_are_refused_with_what_to_set(tenant, message):
    errors = litedesk_errors(tenants(tenant), SETTINGS)
    assert any(message in error for error in errors), errors


def test_a_name_that_is_no_dns_label_is_named_once():
    errors = litedesk_errors([{"name": "Acme_1", "plan": "trial"}], SETTINGS)
    assert errors == ["litedesk_tenants name 'Acme_1' is not a DNS label: use lowercase letters, digits and - (not "
                      "first or last), at most 63 characters, such as acme or acme-2."]


def test_a_retired_tenant_may_keep_a_subdomain_a_present_one_takes_over():
    assert litedesk_errors(tenants({"name": "old-b", "subdomain": "b", "state": "absent"}), SETTINGS) == []


def test_a_tenant_to_retire_needs_no_plan():
    assert litedesk_errors(tenants({"name": "old", "state": "absent"}), SETTINGS) == []


def test_the_shared_mode_takes_no_present_tenants_but_retires_them():
    errors = litedesk_errors(TENANTS, settings(mode="shared"))
    assert errors == ["litedesk_mode is shared (one instance for every organization), but litedesk_tenants wants "
                      "instances for acme, beta, gamma: set litedesk_mode to multi, or their state to absent."]
    assert litedesk_errors(tenants(acme={"state": "absent"}, beta={"state": "absent"}, gamma={"state": "absent"}),
                           settings(mode="shared")) == []


def test_the_shared_mode_keeps_its_shared_instance():
    shared = dict(SETTINGS["shared"], state="absent")
    errors = litedesk_errors([], settings(mode="shared", shared=shared))
    assert any("litedesk_shared_state is absent" in e for e in errors)
    assert litedesk_errors([], settings(shared=shared)) == []


def test_the_shared_instance_is_checked_like_a_tenant():
    shared = dict(SETTINGS["shared"], plan="gold", host="ld9")
    assert litedesk_errors([], settings(shared=shared)) == [
        "the shared instance (litedesk_shared_*) has plan 'gold', which litedesk_plans does not define (plans: "
        "standard, trial).",
        "the shared instance (litedesk_shared_*) is placed on host 'ld9', which is not a LiteDesk host (ld1, ld2): "
        "set host to one of them."]


def test_unknown_mode_and_bad_settings_are_named():
    assert "litedesk_mode 'kubernetes' is not a mode" in litedesk_errors([], settings(mode="kubernetes"))[0]
    errors = litedesk_errors([], settings(base_domain="Lite Desk", shared=dict(SETTINGS["shared"], subdomain="a.b")))
    assert any(e.startswith("litedesk_base_domain 'Lite Desk' is not a DNS name") for e in errors), errors
    assert any(e.startswith("litedesk_shared_subdomain 'a.b' is not a DNS label") for e in errors), errors
    assert litedesk_errors({"acme": {}}, SETTINGS) == [
        "litedesk_tenants must be a list of tenants {name, subdomain, plan, state, host, port, purge}."]


@pytest.mark.parametrize(("plans", "message"), [
    ({"standard": {"backend": PLAN["backend"]}}, "plan standard gives limits to ['backend']"),
    ({"standard": dict(PLAN, frontend={"cpus": 1})}, "plan standard gives frontend no cpus or no memory"),
    ({"standard": dict(PLAN, database={"cpus": 1, "memory": "lots"})},
     "litedesk_plans standard database memory 'lots' is not a size Docker accepts"),
    ({"standard": dict(PLAN, backend={"cpus": 0, "memory": "1G"})},
     "litedesk_plans standard backend cpus '0' is not a number of processors above zero"),
    ({}, "litedesk_plans must map plan names to limits"),
])
def test_plans_need_both_limits_for_each_service(plans, message):
    errors = litedesk_errors([{"name": "acme", "plan": "standard"}], settings(plans=plans))
    assert any(message in error for error in errors), errors


def test_the_registry_may_not_lose_a_running_instance():
    registry = {"instances": {"old": {"state": "present", "port": 20003}, "gone": {"state": "retired"},
                              "gamma": {"state": "present", "port": 20004}}}
    errors = litedesk_errors(TENANTS, SETTINGS, registry)
    assert errors == [
        "The registry of ld1 runs instance gamma, which litedesk_tenants places on ld2: moving an instance is not "
        "supported; retire it here first (state: absent), or place it back.",
        "The registry of ld1 runs instance old, which litedesk_tenants no longer names: keep it with state: absent "
        "to retire it (final export, then removal)."]


def test_an_instance_keeps_the_database_engine_its_data_was_written_by():
    registry = {"instances": {
        "acme": {"state": "present", "database": "postgres"},
        # Retired with its volume kept: coming back on MongoDB would find Postgres' files.
        "beta": {"state": "retired", "database": "postgres"},
        # Purged: nothing of the old engine is left.
        "delta": {"state": "retired", "database": "postgres", "purged": NOW},
        # Not wanted on this host any more (absent below): no engine to keep.
        "epsilon": {"state": "retired", "database": "postgres"}}}
    wanted = tenants({"name": "delta", "plan": "trial"}, {"name": "epsilon", "state": "absent"})
    errors = litedesk_errors(wanted, settings(database="mongodb"), registry)
    assert errors == [
        "The registry of ld1 has instance %s on postgres, and litedesk_database is mongodb: an instance's data stays "
        "with the engine that wrote it. Keep litedesk_database, or retire the instance with purge: true after its "
        "export, then add it again." % name for name in ("acme", "beta")]
    assert litedesk_errors(wanted, SETTINGS, registry) == []


def test_the_plan_of_a_host_holds_its_own_instances_only():
    plan = litedesk_plan(TENANTS, SETTINGS)
    assert [(e["name"], e["action"]) for e in plan["instances"]] == [
        ("shared", "deploy"), ("acme", "deploy"), ("beta", "deploy")]
    on_ld2 = litedesk_plan(TENANTS, settings(host="ld2"))
    assert [e["name"] for e in on_ld2["instances"]] == ["gamma"]


def test_new_instances_get_the_lowest_free_ports_in_name_order():
    plan = litedesk_plan(TENANTS, SETTINGS)
    assert {n: e["port"] for n, e in by_name(plan).items()} == {"acme": 20000, "beta": 20001, "shared": 20002}
    assert plan["ports"] == [["LiteDesk shared", 20002], ["LiteDesk acme", 20000], ["LiteDesk beta", 20001]]


def test_ports_are_kept_when_other_tenants_come_and_go():
    first = litedesk_plan(TENANTS, SETTINGS)
    registry = litedesk_registry({}, first["instances"], "ld1", NOW)
    # A new tenant whose name sorts first, and acme leaving: the others keep their ports.
    later = tenants({"name": "aaa", "plan": "trial"}, acme={"state": "absent"})
    plan = litedesk_plan(later, settings(now=LATER), registry)
    ports = {n: e["port"] for n, e in by_name(plan).items()}
    assert ports == {"aaa": 20003, "acme": 20000, "beta": 20001, "shared": 20002}
    assert by_name(plan)["acme"]["action"] == "retire"
    # Once acme is retired, its port is free for the next new tenant.
    registry = litedesk_registry(registry, plan["instances"], "ld1", LATER)
    plan = litedesk_plan(later + [{"name": "delta", "plan": "trial"}], SETTINGS, registry)
    assert by_name(plan)["delta"]["port"] == 20000
    assert by_name(plan)["aaa"]["port"] == 20003


def test_ports_avoid_the_claims_of_other_services_and_named_ports():
    claims = [["postgres", 5432], ["thing", 20001], ["nginx (HTTPS)", ""]]
    plan = litedesk_plan(tenants(beta={"port": 20000}), SETTINGS, claims=claims)
    assert {n: e["port"] for n, e in by_name(plan).items()} == {"acme": 20002, "beta": 20000, "shared": 20003}


def test_named_ports_that_clash_are_found_by_port_clashes():
    plan = litedesk_plan(tenants(acme={"port": 8080}, beta={"port": 8080}), SETTINGS)
    assert port_clashes(plan["ports"]) == [
        "port 8080 is wanted by LiteDesk acme and by LiteDesk beta: give one of them another port."]


def test_a_full_range_is_an_error_that_says_what_to_widen():
    with pytest.raises(AnsibleFilterError, match="No free port left in litedesk_ports 20000-20001 on ld1"):
        litedesk_plan(TENANTS, settings(ports=[20000, 20001]))


def test_the_compose_definition_gives_each_instance_its_own_network_volume_and_secrets():
    acme = by_name(litedesk_plan(TENANTS, SETTINGS))["acme"]
    definition = acme["definition"]
    assert sorted(definition["services"]) == ["backend", "database", "frontend"]
    assert definition["networks"] == {"default": {"name": "litedesk-acme"}}
    assert definition["volumes"] == {"data": {"name": "litedesk-acme-data"}}
    backend = definition["services"]["backend"]["environment"]
    assert backend["TENANT_NAME"] == "acme"
    assert backend["INSTANCE_MODE"] == "dedicated"
    assert backend["ENABLE_INSTANCE_PROVISIONING"] == "false"
    assert backend["PUBLIC_URL"] == "https://acme.litedesk.example"
    assert backend["DATABASE_URL"] == "postgresql://database:5432/litedesk"
    assert backend["JWT_SECRET"] == "${JWT_SECRET}"  # noqa: S105 - a reference to the stack's .env
    # The user's values are taken literally by Compose: $ doubled.
    assert backend["GREETING"] == "costs $$5"
    frontend = definition["services"]["frontend"]
    assert frontend["environment"]["BACKEND_URL"] == "http://backend:5000"
    assert frontend["ports"] == ["127.0.0.1:20000:8080"]
    assert "ports" not in definition["services"]["backend"]
    assert "ports" not in definition["services"]["database"]
    database = definition["services"]["database"]
    assert database["image"] == "postgres:16"
    assert database["volumes"] == ["data:/var/lib/postgresql/data"]
    assert database["environment"]["POSTGRES_PASSWORD"] == "${DATABASE_PASSWORD}"  # noqa: S105 - as above
    assert acme["limits"] == PLAN


def test_the_shared_instance_runs_in_shared_mode_with_provisioning_off():
    shared = by_name(litedesk_plan([], settings(mode="shared")))["shared"]
    env = shared["definition"]["services"]["backend"]["environment"]
    assert (env["INSTANCE_MODE"], env["ENABLE_INSTANCE_PROVISIONING"], env["PUBLIC_URL"]) == (
        "shared", "false", "https://app.litedesk.example")


def test_mongodb_is_the_production_variant():
    acme = by_name(litedesk_plan(TENANTS, settings(database="mongodb", entry="backend")))["acme"]
    services = acme["definition"]["services"]
    assert services["database"]["image"] == "mongo:7.0"
    assert services["database"]["volumes"] == ["data:/data/db"]
    assert services["database"]["healthcheck"]["test"][:2] == ["CMD", "mongosh"]
    assert services["backend"]["environment"]["MONGO_URI"] == (
        "mongodb://litedesk:${DATABASE_PASSWORD}@database:27017/litedesk?authSource=admin")
    assert "DATABASE_URL" not in services["backend"]["environment"]
    assert services["backend"]["ports"] == ["127.0.0.1:20000:5000"]
    assert "ports" not in services["frontend"]


def test_the_definition_is_plain_yaml():
    # What compose_stack writes and `docker compose config` reads: no Python objects in it.
    plan = litedesk_plan(TENANTS, SETTINGS)
    for entry in plan["instances"]:
        assert yaml.safe_load(yaml.safe_dump(entry["definition"])) == entry["definition"]


def test_nginx_and_certbot_get_a_site_and_a_certificate_per_instance():
    plan = litedesk_plan(tenants({"name": "old", "state": "absent"}), SETTINGS)
    assert plan["nginx_sites"][1] == {"name": "litedesk-acme", "server_names": ["acme.litedesk.example"],
                                      "certificate": "litedesk-acme", "proxy_pass": "http://127.0.0.1:20000"}
    assert [s["server_names"] for s in plan["nginx_sites"]] == [
        ["app.litedesk.example"], ["acme.litedesk.example"], ["b.litedesk.example"]]
    assert plan["certbot_certificates"][2] == {"name": "litedesk-beta", "domains": ["b.litedesk.example"],
                                               "reload_services": ["nginx"]}
    # A tenant to retire (here or already) has its site and certificate removed, every run.
    assert plan["nginx_sites_absent"] == ["litedesk-old"]
    assert plan["certbot_certificates_absent"] == ["litedesk-old"]


def test_the_limits_of_a_host_are_summed_for_host_fit():
    plan = litedesk_plan(TENANTS, SETTINGS)
    assert sorted(plan["resources"]) == ["acme/backend", "acme/database", "acme/frontend", "beta/backend",
                                         "beta/database", "beta/frontend", "shared/backend", "shared/database",
                                         "shared/frontend"]
    errors = host_fit_errors(plan["resources"], {"cpus": 2, "memory_mb": 2048}, {"cpus": 0, "memory": "1G"},
                             "LiteDesk on ld1")
    assert errors and errors[0].startswith("LiteDesk on ld1 needs 2.8 vCPU and 4.44 GiB of memory"), errors
    assert host_fit_errors(plan["resources"], {"cpus": 4, "memory_mb": 8192}, {"cpus": 0, "memory": "1G"}) == []


def test_retirement_exports_once_and_a_purge_follows_later():
    registry = litedesk_registry({}, litedesk_plan(TENANTS, SETTINGS)["instances"], "ld1", NOW)
    gone = tenants(beta={"state": "absent"})
    plan = litedesk_plan(gone, settings(now=LATER), registry)
    beta = by_name(plan)["beta"]
    assert beta["action"] == "retire"
    assert beta["export"] == "/var/backups/litedesk/beta/beta-20250302T113000Z.pgdump"
    assert beta["port"] == 20001
    registry = litedesk_registry(registry, plan["instances"], "ld1", LATER)
    assert registry["instances"]["beta"]["state"] == "retired"
    assert registry["instances"]["beta"]["retired"] == LATER
    assert registry["instances"]["beta"]["export"] == beta["export"]
    assert "purged" not in registry["instances"]["beta"]
    # The next run has nothing to do for beta.
    assert by_name(litedesk_plan(gone, SETTINGS, registry))["beta"]["action"] == "none"
    # purge: true on a retired instance removes its data once.
    purged = tenants(beta={"state": "absent", "purge": True})
    plan = litedesk_plan(purged, SETTINGS, registry)
    assert by_name(plan)["beta"]["action"] == "purge"
    registry = litedesk_registry(registry, plan["instances"], "ld1", "2025-03-03T00:00:00Z")
    assert registry["instances"]["beta"]["purged"] == "2025-03-03T00:00:00Z"
    assert by_name(litedesk_plan(purged, SETTINGS, registry))["beta"]["action"] == "none"


def test_a_mongodb_instance_is_exported_as_an_archive():
    mongo = settings(database="mongodb")
    registry = litedesk_registry({}, litedesk_plan(TENANTS, mongo)["instances"], "ld1", NOW)
    plan = litedesk_plan(tenants(acme={"state": "absent"}), mongo, registry)
    assert by_name(plan)["acme"]["export"].endswith("/acme/acme-20250301T100000Z.archive.gz")
    assert by_name(plan)["acme"]["database"] == "mongodb"


def test_a_tenant_never_deployed_here_has_nothing_to_retire():
    plan = litedesk_plan(tenants({"name": "never", "state": "absent", "purge": True}), SETTINGS)
    assert by_name(plan)["never"]["action"] == "none"


def test_the_registry_records_tenant_host_created_images_url_and_health():
    entries = litedesk_plan(TENANTS, SETTINGS)["instances"]
    registry = litedesk_registry({}, entries, "ld1", NOW, {"acme": 200, "beta": 503})
    assert registry["format"] == 1 and registry["host"] == "ld1"
    assert sorted(registry["instances"]) == ["acme", "beta", "shared"]
    acme = registry["instances"]["acme"]
    assert acme == {"name": "acme", "shared": False, "host": "ld1", "subdomain": "acme",
                    "url": "https://acme.litedesk.example", "port": 20000, "plan": "standard", "database": "postgres",
                    "images": {"backend": "litedesk/backend:1.0", "frontend": "litedesk/frontend:1.0",
                               "database": "postgres:16"},
                    "state": "present", "created": NOW, "health": {"status": "healthy", "since": NOW}}
    assert registry["instances"]["beta"]["health"] == {"status": "unhealthy", "since": NOW}
    assert registry["instances"]["shared"]["health"] == {"status": "unknown", "since": NOW}


def test_a_run_that_changes_nothing_leaves_the_registry_as_it_was():
    entries = litedesk_plan(TENANTS, SETTINGS)["instances"]
    registry = litedesk_registry({}, entries, "ld1", NOW, {"acme": 200, "beta": 200, "shared": 200})
    again = litedesk_plan(TENANTS, settings(now=LATER), registry)["instances"]
    assert litedesk_registry(registry, again, "ld1", LATER) == registry
    assert litedesk_registry(registry, again, "ld1", LATER, {"acme": 200, "beta": 200, "shared": 200}) == registry
    # A change of health is dated; the creation is not.
    changed = litedesk_registry(registry, again, "ld1", LATER, {"acme": 502})
    assert changed["instances"]["acme"]["health"] == {"status": "unhealthy", "since": LATER}
    assert changed["instances"]["acme"]["created"] == NOW


def test_a_new_image_is_recorded():
    registry = litedesk_registry({}, litedesk_plan(TENANTS, SETTINGS)["instances"], "ld1", NOW)
    images = dict(SETTINGS["images"], backend="litedesk/backend:1.1")
    entries = litedesk_plan(TENANTS, settings(images=images), registry)["instances"]
    assert litedesk_registry(registry, entries, "ld1", LATER)["instances"]["acme"]["images"]["backend"] == (
        "litedesk/backend:1.1")


def test_a_recreated_tenant_is_new_again():
    registry = litedesk_registry({}, litedesk_plan(TENANTS, SETTINGS)["instances"], "ld1", NOW)
    plan = litedesk_plan(tenants(acme={"state": "absent"}), SETTINGS, registry)
    registry = litedesk_registry(registry, plan["instances"], "ld1", NOW)
    plan = litedesk_plan(TENANTS, settings(now=LATER), registry)
    registry = litedesk_registry(registry, plan["instances"], "ld1", LATER)
    acme = registry["instances"]["acme"]
    assert (acme["state"], acme["created"], acme["port"]) == ("present", LATER, 20000)
    assert "retired" not in acme


def test_the_summary_has_a_line_per_instance_of_every_host():
    ld1 = litedesk_registry({}, litedesk_plan(TENANTS, SETTINGS)["instances"], "ld1", NOW, {"acme": 200, "beta": 502})
    ld2 = litedesk_registry({}, litedesk_plan(TENANTS, settings(host="ld2"))["instances"], "ld2", NOW, {"gamma": 200})
    retired = litedesk_registry(ld1, litedesk_plan(tenants(beta={"state": "absent"}), SETTINGS, ld1)["instances"],
                                "ld1", NOW)
    assert litedesk_summary([retired, ld2]) == [
        "acme on ld1: present, healthy, https://acme.litedesk.example",
        "beta on ld1: retired, retired, %s" % retired["instances"]["beta"]["export"],
        "shared on ld1: present, unknown, https://app.litedesk.example",
        "gamma on ld2: present, healthy, https://gamma.litedesk.example"]
    assert litedesk_summary([]) == []
