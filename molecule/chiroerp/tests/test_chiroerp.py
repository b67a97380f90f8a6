"""ChiroERP Tier 1 on one host: requests through the gateway, rows, events, metrics, limits, refusals.

The tests that run the playbook again with bad input come last; each must leave the stack as it was.
"""

import json
import os
import shlex
import urllib.parse
import uuid
from pathlib import Path

import pytest
import yaml
from keel_verify import wait_for

SCENARIO = Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", Path(__file__).resolve().parents[1]))
ROOT = SCENARIO.parents[1]
CONVERGE = SCENARIO / "converge.yml"
DEFAULTS = yaml.safe_load((ROOT / "roles" / "chiroerp" / "defaults" / "main.yml").read_text())
TEST = yaml.safe_load((SCENARIO / "vars" / "test.yml").read_text())
SERVICES = DEFAULTS["chiroerp_services"]
STACK = "/opt/chiroerp"
GATEWAY = "http://127.0.0.1:8000"
# The TLS front: nginx on the host, under the host's name, with a certificate from the local ACME
# server (prepare.yml), whose issuing root the tests fetch from its management port.
HOST = "keel-c-tier1"
FRONT = f"https://{HOST}"
ACME_TLS_CA = "/usr/local/share/keel-test/pebble-tls-ca.pem"
ACME_ROOT = "/root/pebble-root.pem"
S3 = yaml.safe_load((SCENARIO / "vars" / "s3.yml").read_text())
DRILL = ROOT / "playbooks" / "postgres_restore_drill.yml"
PROMETHEUS = "http://127.0.0.1:9090"
RUN = uuid.uuid4().hex[:12]

# An HTTP call from the host itself (it has Python, not curl): status, JSON or text, and a
# redirect's Location (redirects are not followed). HTTPS trusts only the CA file given.
HTTP = """
import json, ssl, sys, urllib.request, urllib.error
method, url, body, request_id, cafile = sys.argv[1:6]
class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
handlers = [Stay()] + ([urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cafile))]
                       if cafile else [])
headers = {"Content-Type": "application/json", **({"X-Request-Id": request_id} if request_id else {})}
req = urllib.request.Request(url, method=method, data=body.encode() if body else None, headers=headers)
try:
    with urllib.request.build_opener(*handlers).open(req, timeout=60) as resp:
        status, text, location = resp.status, resp.read().decode(), None
except urllib.error.HTTPError as err:
    status, text, location = err.code, err.read().decode(), err.headers.get("Location")
print(json.dumps({"status": status, "text": text, "location": location}))
"""


def http(host, method, url, body="", request_id="", cafile=""):
    cmd = host.run("python3 -c %s %s %s %s %s %s" % (shlex.quote(HTTP), method, shlex.quote(url), shlex.quote(body),
                                                     shlex.quote(request_id), shlex.quote(cafile)))
    assert cmd.rc == 0, cmd.stderr
    answer = json.loads(cmd.stdout)
    try:
        answer["json"] = json.loads(answer["text"])
    except ValueError:
        answer["json"] = None
    return answer


def psql(host, query):
    cmd = host.run("docker compose --project-directory /opt/postgres exec -T postgres "
                   f"psql -U postgres -d chiroerp -tAF '|' -c {shlex.quote(query)}")
    assert cmd.rc == 0, cmd.stderr
    return [line.split("|") for line in cmd.stdout.splitlines() if line]


def request_id(service):
    return f"{RUN}-{service['name']}"


def container(service):
    return f"chiroerp-{service}-1"


@pytest.fixture(scope="module")
def written(host):
    """One POST /records per service through the gateway, each with its own request id."""
    answers = {}
    for service in SERVICES:
        answers[service["name"]] = http(host, "POST", f"{GATEWAY}{service['route']}records",
                                        json.dumps({"amount": 42, "for": service["name"]}), request_id(service))
    return answers


def test_a_request_through_the_gateway_reaches_each_service(written):
    for service in SERVICES:
        answer = written[service["name"]]
        assert answer["status"] == 201, answer
        assert answer["json"]["service"] == service["name"]
        assert answer["json"]["schema"] == service["schema"]
        assert answer["json"]["topic"] == service["topics"][0]
        assert answer["json"]["request_id"] == request_id(service)


def test_each_service_wrote_into_its_own_schema_and_no_other(host, written):
    for service in SERVICES:
        # The schema names are the role's defaults, not input.
        rows = psql(host, f"SELECT request_id FROM {service['schema']}.records "  # noqa: S608
                          f"WHERE request_id LIKE '{RUN}-%'")
        assert rows == [[request_id(service)]], (service["schema"], rows)
    # Each table is owned by the service's own login role: it logged in as itself.
    owners = dict(psql(host, "SELECT schemaname, tableowner FROM pg_tables WHERE tablename = 'records'"))
    assert owners == {s["schema"]: s["schema"] for s in SERVICES}


def test_a_service_cannot_write_into_another_schema(host):
    cmd = host.run("docker compose --project-directory /opt/postgres exec -T -e PGPASSWORD=%s postgres "
                   "psql -h 127.0.0.1 -U finance_gl -d chiroerp -c %s" % (
                       TEST["vault_postgres_finance_gl_password"],
                       shlex.quote("INSERT INTO sales_core.records (request_id, body) VALUES ('x', '{}')")))
    assert cmd.rc != 0
    assert "permission denied for schema sales_core" in cmd.stderr


def test_each_event_is_consumed_back_from_its_topic(host, written):
    for service in SERVICES:
        answer = http(host, "GET", f"{GATEWAY}{service['route']}events?request_id={request_id(service)}")
        assert answer["status"] == 200, answer
        assert answer["json"]["topic"] == service["topics"][0]
        events = answer["json"]["events"]
        assert len(events) == 1, events
        assert events[0]["service"] == service["name"]
        assert events[0]["schema"] == service["schema"]
        assert events[0]["body"] == {"amount": 42, "for": service["name"]}


def test_each_service_gets_its_schema_and_kafka_from_the_deployment(host):
    address = next(a for a in host.interface.default().addresses if "." in a)
    for service in SERVICES:
        env = json.loads(host.check_output(
            f"docker inspect --format '{{{{json .Config.Env}}}}' {container(service['name'])}"))
        env = dict(item.split("=", 1) for item in env)
        assert env["DATABASE_SCHEMA"] == service["schema"]
        assert env["DATABASE_URL"] == "jdbc:postgresql://postgres:5432/chiroerp"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == f"{address}:9092"
        assert env["KAFKA_TOPIC"] == service["topics"][0]


def test_the_gateway_answers_unknown_paths_itself(host):
    assert http(host, "GET", f"{GATEWAY}/health")["json"] == {"status": "UP", "service": "api-gateway"}
    assert http(host, "GET", f"{GATEWAY}/nowhere/records")["status"] == 404


def test_prometheus_reports_every_target_up(host, written):
    def all_up():
        targets = http(host, "GET", f"{PROMETHEUS}/api/v1/targets")["json"]["data"]["activeTargets"]
        jobs = {t["labels"]["job"]: t["health"] for t in targets}
        return jobs if set(jobs) == {s["name"] for s in SERVICES} | {"prometheus"} \
            and set(jobs.values()) == {"up"} else None

    wait_for(all_up, 60, "every Prometheus target up")
    # The row each service wrote is counted in what Prometheus scraped.
    query = "erp_records_written_total"

    def counted():
        result = http(host, "GET", f"{PROMETHEUS}/api/v1/query?query={query}")["json"]["data"]["result"]
        return {r["metric"]["job"] for r in result if float(r["value"][1]) >= 1} == {s["name"] for s in SERVICES}

    wait_for(counted, 30, "every service's written rows in Prometheus")


def test_grafana_provisioning_is_rendered_and_valid(host):
    datasource = yaml.safe_load(host.file(f"{STACK}/grafana/provisioning/datasources/prometheus.yml").content_string)
    source = datasource["datasources"][0]
    assert (source["type"], source["url"], source["uid"]) == (
        "prometheus", "http://prometheus:9090", "chiroerp-prometheus")
    providers = yaml.safe_load(host.file(f"{STACK}/grafana/provisioning/dashboards/chiroerp.yml").content_string)
    assert providers["providers"][0]["options"]["path"] == "/etc/grafana/dashboards/chiroerp"
    dashboard = json.loads(host.file(f"{STACK}/grafana/dashboards/chiroerp.json").content_string)
    assert dashboard["uid"] == "chiroerp-tier1"
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert titles == ["Services up", "Request rate", "Error rate (5xx)", "CPU", "Memory"]
    # Every panel's query is one the running Prometheus accepts, and all but the error rate have data.
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"]
        expr = panel["targets"][0]["expr"]
        answer = http(host, "GET", f"{PROMETHEUS}/api/v1/query?query={urllib.parse.quote(expr)}")
        assert answer["json"]["status"] == "success", (panel["title"], answer)
        if panel["title"] != "Error rate (5xx)":
            assert answer["json"]["data"]["result"], (panel["title"], expr)


def test_the_gateway_and_prometheus_accept_their_configuration(host):
    assert host.run(f"docker exec {container('api-gateway')} nginx -t").rc == 0
    check = host.run(f"docker exec {container('prometheus')} promtool check config /etc/prometheus/prometheus.yml")
    assert check.rc == 0, check.stdout + check.stderr


def test_the_limits_are_in_effect_on_the_containers(host):
    units = {"M": 2 ** 20, "G": 2 ** 30, "m": 2 ** 20}
    expected = dict(TEST["chiroerp_resources"])
    expected["postgres"] = TEST["postgres_resources"]
    expected["kafka"] = {"cpus": TEST["kafka_cpu_limit"], "memory": TEST["kafka_memory_limit"]}
    names = {"postgres": "postgres-postgres-1", "kafka": "kafka-1"}
    for service, table in expected.items():
        if service == "grafana":
            continue
        name = names.get(service, container(service))
        memory = int(str(table["memory"])[:-1]) * units[str(table["memory"])[-1]]
        nano = round(float(table["cpus"]) * 1e9)
        inspected = host.check_output(
            f"docker inspect --format '{{{{.HostConfig.NanoCpus}}}} {{{{.HostConfig.Memory}}}}' {name}")
        assert inspected == f"{nano} {memory}", service
        # What the kernel enforces: the container's own cgroup (v2 inside its namespace, else v1).
        cgroup = host.run(f"docker exec {name} cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max")
        if cgroup.rc == 0:
            mem, cpu = cgroup.stdout.splitlines()
            quota, period = cpu.split()
            assert int(mem) == memory, service
            assert round(int(quota) / int(period), 3) == float(table["cpus"]), service
        else:
            mem = host.check_output(f"docker exec {name} cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
            quota = host.check_output(f"docker exec {name} cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us")
            period = host.check_output(f"docker exec {name} cat /sys/fs/cgroup/cpu/cpu.cfs_period_us")
            assert int(mem) == memory, service
            assert round(int(quota) / int(period), 3) == float(table["cpus"]), service


@pytest.fixture(scope="module")
def acme_root(host):
    """The root the local ACME server issues under, saved on the host."""
    got = host.run(f"python3 -c 'import ssl, sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
                   f"\"https://keel-c-pebble:15000/roots/0\", context=ssl.create_default_context("
                   f"cafile=\"{ACME_TLS_CA}\")).read().decode())' > {ACME_ROOT}")
    assert got.rc == 0, got.stderr
    return ACME_ROOT


def test_the_gateway_is_served_over_https_with_a_certificate_from_the_acme_server(host, acme_root):
    # The chain verifies against the ACME server's root (and nothing else is trusted).
    answer = http(host, "POST", f"{FRONT}/sales/records", json.dumps({"amount": 7}), f"{RUN}-tls", acme_root)
    assert answer["status"] == 201, answer
    assert answer["json"]["service"] == "sales-core"
    # RUN is the test's own hex id, not input.
    assert psql(host, f"SELECT count(*) FROM sales_core.records WHERE request_id = '{RUN}-tls'") == [["1"]]  # noqa: S608
    # Without that root the certificate is not trusted: no fallback to anything else.
    untrusted = host.run("python3 -c %s" % shlex.quote(
        f"import urllib.request; urllib.request.urlopen('{FRONT}/health', timeout=10)"))
    assert untrusted.rc != 0 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr


def test_http_is_redirected_to_https(host):
    answer = http(host, "GET", f"http://{HOST}/finance/records?x=1")
    assert answer["status"] == 301, answer
    assert answer["location"] == f"{FRONT}/finance/records?x=1"


def test_the_gateway_listens_on_loopback_only_and_sees_the_clients_address(host, acme_root):
    address = next(a for a in host.interface.default().addresses if "." in a)
    reach = "import socket; socket.create_connection((%r, 8000), timeout=5)"
    assert host.run("python3 -c %s" % shlex.quote(reach % "127.0.0.1")).rc == 0
    assert host.run("python3 -c %s" % shlex.quote(reach % address)).rc != 0
    # Through the front, the gateway logs the client's address (X-Forwarded-For from a trusted
    # proxy), not the engine's bridge address the request arrives from. (Its own /health is not logged.)
    marker = f"{RUN}-client"
    assert http(host, "GET", f"{FRONT}/finance/health?{marker}", cafile=acme_root)["status"] == 200
    logged = wait_for(lambda: [line for line in host.run(f"docker logs {container('api-gateway')} 2>&1").stdout
                               .splitlines() if marker in line], 30, "the gateway's log line of the request")
    assert logged[-1].split()[0] == address, logged


def test_a_backup_lands_in_s3_and_a_drill_restores_it_from_there(host, run_playbook):
    backup = host.run("systemctl start keel-pg-backup.service")
    assert backup.rc == 0, host.run("journalctl -u keel-pg-backup.service -n 40 --no-pager").stdout
    local = json.loads(host.check_output("keel-pg-backup --json list").splitlines()[-1])["backups"]
    in_s3 = json.loads(host.check_output("keel-pg-backup --json list --source s3").splitlines()[-1])["backups"]
    # A copy counts as complete in S3 once its SHA256SUMS is there, uploaded after `rclone check`.
    assert local and in_s3[-1] == local[-1]
    assert f"s3: {local[-1]} copied to" in host.check_output("journalctl -u keel-pg-backup.service -n 40 --no-pager")
    drill = run_playbook(DRILL, "-e", "postgres_drill_source=s3")
    assert drill.rc == 0, drill.failure()
    assert drill.says(f"Backup {local[-1]} (s3) restored into a scratch server and matches its manifest (chiroerp)")


def _refused(host, run_playbook, *args):
    compose = host.file(f"{STACK}/compose.yaml").content_string
    run = run_playbook(CONVERGE, *args)
    assert run.rc != 0
    assert run.recap(host.backend.host)["changed"] == 0, run.output[-3000:]
    assert "Nothing was changed on any host" in run.output, run.failure()
    assert host.file(f"{STACK}/compose.yaml").content_string == compose
    return run


def test_an_undersized_host_is_refused_with_the_figures(host, run_playbook):
    # The seed's table (8 vCPU of limits) on this 2 vCPU host, as a user would try it.
    seed = json.dumps({"chiroerp_resources": DEFAULTS["chiroerp_resources"],
                       "chiroerp_host_overhead": DEFAULTS["chiroerp_host_overhead"]})
    run = _refused(host, run_playbook, "-e", seed)
    assert "ChiroERP on keel-c-tier1 needs 8 vCPU and 23.75 GiB of memory (limits of its 9 services: 8 vCPU," \
        in run.output, run.failure()
    assert "this host has 2 vCPU and " in run.output
    assert "6 vCPU short" in run.output
    assert "choose a smaller-limits profile (chiroerp_resources" in run.output


def _services_with(**change):
    services = [dict(s) for s in SERVICES]
    services[2].update(change)
    return json.dumps({"chiroerp_services": services})


@pytest.mark.parametrize(("extra", "message"), [
    (_services_with(port=8081), "port 8081 is wanted by finance-gl and by sales-core: give one of them another port"),
    ('{"chiroerp_gateway_port": 9090}', "port 9090 is wanted by api-gateway and by prometheus"),
    ('{"chiroerp_gateway_port": 443}', "port 443 is wanted by api-gateway and by nginx (HTTPS)"),
    ('{"chiroerp_gateway_trusted_proxies": ["docker0"]}',
     "chiroerp_gateway_trusted_proxies ['docker0'] has an item 'docker0' that is not an IP address or network"),
    (_services_with(schema="Sales-Core"), "has an item 'Sales-Core' that is not a name Keel lets Postgres use"),
    ('{"chiroerp_kafka_topics": [{"name": "sales.order.created"}, {"name": "hr.payroll.run"}]}',
     'chiroerp_kafka_topics holds ["hr.payroll.run"], in no service\'s list of chiroerp_services'),
], ids=["two services on one port", "gateway on prometheus' port", "gateway on nginx's port",
        "proxy that is no address", "schema Postgres rejects", "orphan topic"])
def test_bad_input_is_refused_before_any_change(host, run_playbook, extra, message):
    run = _refused(host, run_playbook, "-e", extra)
    assert message in run.output, run.failure()
