"""LiteDesk's instances on two hosts: each tenant over HTTPS with its own certificate and data, isolation,
a fourth tenant added without touching the others, a tenant retired with its export, the registries, refusals.

The application is the test bed's litedesk-app stand-in (testbed/images/litedesk-app): GET /api/health,
GET /api/tenant ({tenant, instance_mode}), POST and GET /api/notes ({tenant, notes: [{text}]}, rows in its own
database) as the backend, and /api/ passed to BACKEND_URL as the frontend.
The tests that run the playbook again come last, in this order: a fourth tenant, its retirement, bad input.
"""

import json
import os
import shlex
import uuid
from pathlib import Path

import keel_verify
import pytest
import testinfra
import yaml

SCENARIO = Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", Path(__file__).resolve().parents[1]))
CONVERGE = SCENARIO / "converge.yml"
TEST = yaml.safe_load((SCENARIO / "vars" / "test.yml").read_text())
HOST, HOST2 = "keel-ld-host", "keel-ld-host2"
DOMAIN = TEST["litedesk_base_domain"]
TENANTS = [tenant["name"] for tenant in TEST["litedesk_tenants"]]
# Where the inventory places each tenant (the shared instance and delta: the first host).
PLACED = {tenant["name"]: tenant.get("host", HOST) for tenant in TEST["litedesk_tenants"]}
PLAN = TEST["litedesk_plans"]["test"]
ROOT_CA = "/usr/local/share/keel-test/pebble-root.pem"
REGISTRY = "/var/lib/litedesk/registry.json"
EXPORTS = "/var/backups/litedesk"
RUN = uuid.uuid4().hex[:12]
# The example's tenants plus a fourth, then with the fourth retired.
WITH_DELTA = TEST["litedesk_tenants"] + [{"name": "delta", "plan": "test"}]
DELTA_RETIRED = TEST["litedesk_tenants"] + [{"name": "delta", "state": "absent"}]

testinfra_hosts = [f"ansible://{HOST}"]


@pytest.fixture(scope="module")
def on(host):
    """The test host that runs a tenant's instance."""
    second = testinfra.get_host(f"ansible://{HOST2}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])
    return lambda tenant: second if PLACED.get(tenant, HOST) == HOST2 else host


def url(tenant, path):
    return f"https://{tenant}.{DOMAIN}{path}"


def call(host, method, address, body=None):
    return keel_verify.call_json(host, method, address, body, cafile=ROOT_CA)


def tenants_var(tenants):
    return json.dumps({"litedesk_tenants": tenants})


def container(tenant, service):
    return f"litedesk-{tenant}-{service}-1"


def container_ids(host, tenant):
    """{service: container id} of a tenant's Compose project."""
    lines = host.check_output("docker ps -a --filter label=com.docker.compose.project=litedesk-%s "
                              "--format '{{.Label \"com.docker.compose.service\"}} {{.ID}}'" % tenant)
    return dict(line.split() for line in lines.splitlines() if line)


def registry(host):
    return json.loads(host.file(REGISTRY).content_string)


def psql(host, tenant, query, database="litedesk"):
    cmd = host.run("docker exec %s psql -U litedesk -d %s -tA -c %s"
                   % (container(tenant, "database"), database, shlex.quote(query)))
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.split()


def certificate_names(host, tenant):
    """The DNS names of the certificate nginx serves for a tenant's name (SNI)."""
    name = f"{tenant}.{DOMAIN}"
    text = host.check_output(f"openssl s_client -connect 127.0.0.1:443 -servername {name} </dev/null 2>/dev/null "
                             "| openssl x509 -noout -ext subjectAltName")
    return sorted(part.strip()[len("DNS:"):] for part in text.splitlines()[-1].split(","))


@pytest.mark.parametrize("tenant", TENANTS)
def test_each_tenant_answers_over_https_with_its_own_certificate(host, on, tenant):
    code, answer = call(host, "GET", url(tenant, "/api/tenant"))
    assert code == 200, answer
    assert answer["tenant"] == tenant
    assert answer["instance_mode"] == "dedicated"
    assert certificate_names(on(tenant), tenant) == [f"{tenant}.{DOMAIN}"]


def test_the_shared_instance_answers_at_its_own_name(host):
    code, answer = call(host, "GET", url("app", "/api/tenant"))
    assert code == 200, answer
    assert (answer["tenant"], answer["instance_mode"]) == ("shared", "shared")


@pytest.mark.parametrize("tenant", TENANTS)
def test_http_is_redirected_to_https(host, tenant):
    cmd = host.run(f"curl -sS -o /dev/null -w '%{{http_code}} %{{redirect_url}}' http://{tenant}.{DOMAIN}/api/tenant")
    assert cmd.stdout == f"301 {url(tenant, '/api/tenant')}", cmd.stdout + cmd.stderr


def test_a_row_written_through_one_tenant_is_not_seen_through_another(host, on):
    text = f"note-{RUN}"
    code, answer = call(host, "POST", url("acme", "/api/notes"), {"text": text})
    assert code == 201, answer
    assert text in [note["text"] for note in call(host, "GET", url("acme", "/api/notes"))[1]["notes"]]
    for other in TENANTS[1:]:
        code, answer = call(host, "GET", url(other, "/api/notes"))
        assert code == 200 and answer["tenant"] == other, answer
        assert text not in [note["text"] for note in answer["notes"]]
    # In the databases themselves: acme's alone holds it. (RUN is the test's own hex id, not input.)
    query = f"SELECT count(*) FROM notes WHERE text = '{text}'"  # noqa: S608
    assert psql(host, "acme", query) == ["1"]
    for other in TENANTS[1:]:
        assert psql(on(other), other, query) == ["0"]


def test_a_tenants_backend_cannot_reach_another_tenants_database(host, on):
    reach = "import socket, sys; socket.create_connection((sys.argv[1], 5432), timeout=3)"
    beta_db = host.check_output("docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "
                                + container("beta", "database"))
    # Its own database it reaches by name; beta's neither by address nor by name.
    own = host.run(f"docker exec {container('acme', 'backend')} python3 -c {shlex.quote(reach)} database")
    assert own.rc == 0, own.stderr
    for target in (beta_db, container("beta", "database")):
        other = host.run(f"docker exec {container('acme', 'backend')} python3 -c {shlex.quote(reach)} {target}")
        assert other.rc != 0, target
    # Each instance's network holds its own three containers and nothing else.
    for tenant in TENANTS:
        members = json.loads(on(tenant).check_output(f"docker network inspect litedesk-{tenant}"))[0]["Containers"]
        assert sorted(member["Name"] for member in members.values()) == sorted(
            container(tenant, service) for service in ("backend", "database", "frontend"))


def test_each_instance_has_its_limits_port_on_loopback_and_root_only_secrets(on):
    units = {"M": 2 ** 20, "G": 2 ** 30}
    ports = set()
    for tenant in TENANTS:
        host = on(tenant)
        for service, table in PLAN.items():
            memory = int(table["memory"][:-1]) * units[table["memory"][-1]]
            inspected = host.check_output("docker inspect --format '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}' "
                                          + container(tenant, service))
            assert inspected == f"{round(table['cpus'] * 1e9)} {memory}", (tenant, service)
        bindings = json.loads(host.check_output("docker inspect --format '{{json .HostConfig.PortBindings}}' "
                                                + container(tenant, "frontend")))
        (binding,) = [b for values in bindings.values() for b in values]
        assert binding["HostIp"] == "127.0.0.1"
        ports.add((PLACED[tenant], binding["HostPort"]))
        assert host.check_output("docker inspect --format '{{json .HostConfig.PortBindings}}' "
                                 + container(tenant, "database")) in ("{}", "null")
        secrets = host.file(f"/var/lib/litedesk/secrets/{tenant}.json")
        assert (secrets.user, secrets.group, secrets.mode) == ("root", "root", 0o600)
        env = host.file(f"/opt/litedesk-{tenant}/.env")
        assert (env.user, env.mode) == ("root", 0o600)
        password = json.loads(secrets.content_string)["DATABASE_PASSWORD"]
        assert len(password) >= 32 and f"DATABASE_PASSWORD='{password}'" in env.content_string
    assert len(ports) == len(TENANTS)
    assert {on(tenant).file("/var/lib/litedesk").mode for tenant in TENANTS} == {0o700}


@pytest.mark.parametrize("tenant", TENANTS)
def test_compose_accepts_each_instances_definition(on, tenant):
    check = on(tenant).run(f"docker compose --project-directory /opt/litedesk-{tenant} config --quiet")
    assert check.rc == 0, check.stderr


def test_the_mongodb_variant_renders_a_definition_compose_accepts(host, run_playbook):
    run = run_playbook(SCENARIO / "render_mongodb.yml")
    assert run.rc == 0, run.failure()
    config = host.run("docker compose --project-directory /tmp/keel-ld-mongodb --project-name litedesk-mongo "
                      "config --format json")
    assert config.rc == 0, config.stderr
    services = json.loads(config.stdout)["services"]
    database = services["database"]
    assert database["image"] == "mongo:7.0"
    assert database["healthcheck"]["test"][:2] == ["CMD", "mongosh"]
    assert [volume["target"] for volume in database["volumes"]] == ["/data/db"]
    assert database["environment"]["MONGO_INITDB_ROOT_PASSWORD"] == "keel-test-only"
    assert services["backend"]["environment"]["MONGO_URI"] == (
        "mongodb://litedesk:keel-test-only@database:27017/litedesk?authSource=admin")
    assert "ports" not in database
    assert database["deploy"]["resources"]["limits"]["memory"] == str(512 * 2 ** 20)


@pytest.mark.parametrize("name", [HOST, HOST2])
def test_each_hosts_registry_lists_its_instances_with_host_url_and_health(on, name):
    host = on("shared" if name == HOST else "gamma")
    assert (host.file(REGISTRY).user, host.file(REGISTRY).mode) == ("root", 0o600)
    found = registry(host)
    assert found["host"] == name
    assert sorted(found["instances"]) == sorted(
        [tenant for tenant in TENANTS if PLACED[tenant] == name] + (["shared"] if name == HOST else []))
    for instance, entry in found["instances"].items():
        assert entry["state"] == "present", entry
        assert entry["host"] == name
        assert entry["health"]["status"] == "healthy", entry
        assert entry["images"]["database"] == "postgres:15"
        assert entry["created"].endswith("Z")
        assert entry["url"] == f"https://{'app' if instance == 'shared' else instance}.{DOMAIN}"
    assert len({entry["port"] for entry in found["instances"].values()}) == len(found["instances"])


def test_a_fourth_tenant_leaves_the_other_tenants_containers_as_they_were(host, on, run_playbook):
    before = {tenant: container_ids(on(tenant), tenant) for tenant in TENANTS}
    ports = {name: entry["port"] for name, entry in registry(host)["instances"].items()}
    run = run_playbook(CONVERGE, "-e", tenants_var(WITH_DELTA))
    assert run.rc == 0, run.failure()
    assert run.recap(HOST2)["changed"] == 0, run.output[-3000:]
    assert {tenant: container_ids(on(tenant), tenant) for tenant in TENANTS} == before
    # The run ends with every instance of both hosts' registries.
    for name, where in [("delta", HOST), ("shared", HOST), *PLACED.items()]:
        address = url("app" if name == "shared" else name, "")
        assert run.says(f"{name} on {where}: present, healthy, {address}"), run.output[-3000:]
    assert {name: entry["port"] for name, entry in registry(host)["instances"].items() if name in ports} == ports
    code, answer = call(host, "GET", url("delta", "/api/tenant"))
    assert (code, answer["tenant"]) == (200, "delta")
    assert certificate_names(host, "delta") == [f"delta.{DOMAIN}"]
    assert call(host, "POST", url("delta", "/api/notes"), {"text": f"kept-{RUN}"})[0] == 201


def test_retiring_a_tenant_leaves_an_export_and_removes_its_route_and_containers(host, run_playbook):
    run = run_playbook(CONVERGE, "-e", tenants_var(DELTA_RETIRED))
    assert run.rc == 0, run.failure()
    entry = registry(host)["instances"]["delta"]
    assert entry["state"] == "retired" and entry["retired"].endswith("Z"), entry
    export = host.file(entry["export"])
    assert export.exists and export.mode == 0o600 and export.user == "root"
    assert entry["export"].startswith(f"{EXPORTS}/delta/delta-") and entry["export"].endswith(".pgdump")
    # The export holds the row written through delta: restored into a scratch database of acme's server.
    restore = host.run(f"docker exec -i {container('acme', 'database')} sh -c "
                       "'createdb -U litedesk scratch && pg_restore -U litedesk -d scratch' < " + entry["export"])
    assert restore.rc == 0, restore.stderr
    rows = psql(host, "acme", "SELECT text FROM notes", database="scratch")
    host.run(f"docker exec {container('acme', 'database')} dropdb -U litedesk scratch")
    assert f"kept-{RUN}" in rows
    assert container_ids(host, "delta") == {}
    assert host.run("docker network inspect litedesk-delta").rc != 0
    assert host.run("docker volume inspect litedesk-delta-data").rc == 0  # kept: no purge
    assert not host.file("/etc/nginx/sites-enabled/keel-litedesk-delta.conf").exists
    assert not host.file("/etc/nginx/sites-available/keel-litedesk-delta.conf").exists
    assert not host.file("/etc/letsencrypt/live/litedesk-delta").exists
    assert not host.file("/etc/letsencrypt/renewal/litedesk-delta.conf").exists
    # Its name no longer gets an answer of delta's: no route, no certificate for it.
    gone = host.run(f"curl -sS --max-time 10 --cacert {ROOT_CA} {url('delta', '/api/tenant')}")
    assert gone.rc != 0 or '"delta"' not in gone.stdout
    # The others still answer.
    assert all(call(host, "GET", url(tenant, "/api/tenant"))[0] == 200 for tenant in TENANTS)
    # Retiring again changes nothing, and exports nothing more.
    again = run_playbook(CONVERGE, "-e", tenants_var(DELTA_RETIRED))
    assert again.rc == 0, again.failure()
    assert again.recap(HOST)["changed"] == 0, again.output[-3000:]
    assert host.check_output(f"ls {EXPORTS}/delta").split() == [Path(entry["export"]).name]


def _refused(on, run_playbook, *args):
    hosts = (on("shared"), on("gamma"))
    before = [host.file(REGISTRY).content_string for host in hosts]
    ids = {tenant: container_ids(on(tenant), tenant) for tenant in TENANTS}
    run = run_playbook(CONVERGE, *args)
    assert run.rc != 0
    assert run.recap(HOST)["changed"] == 0 and run.recap(HOST2)["changed"] == 0, run.output[-3000:]
    assert "Nothing was changed on any host" in run.output, run.failure()
    assert [host.file(REGISTRY).content_string for host in hosts] == before
    assert {tenant: container_ids(on(tenant), tenant) for tenant in TENANTS} == ids
    return run


@pytest.mark.parametrize(("tenant", "message"), [
    ({"name": "Acme_1", "plan": "test"}, "litedesk_tenants name 'Acme_1' is not a DNS label"),
    ({"name": "epsilon", "subdomain": "beta", "plan": "test"}, "the subdomain beta is wanted by more than one"),
    ({"name": "acme", "plan": "test"}, "litedesk_tenants names acme more than once"),
    ({"name": "shared", "plan": "test"}, "tenant shared takes shared, reserved"),
    ({"name": "epsilon", "subdomain": "app", "plan": "test"}, "tenant epsilon takes app, reserved"),
    ({"name": "epsilon", "plan": "test", "state": "gone"}, "value of state must be one of: present, absent, got: gone"),
    ({"name": "epsilon", "plan": "huge"}, f"LiteDesk on {HOST} needs"),
    ({"name": "epsilon", "plan": "test", "port": 443}, "port 443 is wanted by LiteDesk epsilon and by nginx (HTTPS)"),
    ({"name": "epsilon", "plan": "test", "host": "keel-ld-host9"},
     "is placed on host 'keel-ld-host9', which is not a LiteDesk host"),
], ids=["not a DNS label", "subdomain twice", "name twice", "the shared instance's name",
        "the shared instance's subdomain", "unknown state", "beyond the host", "nginx's port", "unknown host"])
def test_bad_tenants_are_refused_before_any_change(on, run_playbook, tenant, message):
    run = _refused(on, run_playbook, "-e", tenants_var(DELTA_RETIRED + [tenant]))
    assert run.says(message), run.failure()


def test_moving_a_running_instance_to_another_host_is_refused(on, run_playbook):
    moved = [{**tenant, "host": HOST} if tenant["name"] == "gamma" else tenant for tenant in DELTA_RETIRED]
    run = _refused(on, run_playbook, "-e", tenants_var(moved))
    assert run.says(f"The registry of {HOST2} runs instance gamma, which litedesk_tenants places on {HOST}: moving "
                    "an instance is not supported"), run.failure()


def test_another_database_engine_under_running_instances_is_refused(on, run_playbook):
    switched = {"litedesk_database": "mongodb", "litedesk_tenants": DELTA_RETIRED}
    run = _refused(on, run_playbook, "-e", json.dumps(switched))
    assert run.says(f"The registry of {HOST} has instance acme on postgres, and litedesk_database is mongodb"), \
        run.failure()


def test_the_shared_mode_refuses_tenants_with_instances(on, run_playbook):
    shared = {"litedesk_mode": "shared", "litedesk_tenants": DELTA_RETIRED}
    run = _refused(on, run_playbook, "-e", json.dumps(shared))
    assert run.says("litedesk_mode is shared (one instance for every organization), but litedesk_tenants wants "
                    "instances for acme, beta, gamma"), run.failure()
