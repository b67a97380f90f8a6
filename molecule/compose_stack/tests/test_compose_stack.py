"""A Compose stack deployed by compose_stack, changed, fed bad input, and removed.

The tests run in file order: the later ones change the stack.
"""

import hashlib
import json
import os

import pytest

SECRET = "keel-test-secret-3f9c1a"
STACK = "/opt/web"
CONVERGE = os.path.join(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", "."), "converge.yml")


def get_json(host, url="http://127.0.0.1:8090/"):
    cmd = host.run(f"curl -fsS --retry 15 --retry-delay 1 --retry-all-errors --max-time 5 {url}")
    assert cmd.rc == 0, cmd.stderr
    return json.loads(cmd.stdout)


def container_id(host, service):
    return host.check_output(f"docker compose --project-directory {STACK} ps -q {service}")


def inspect(host, what, service):
    return json.loads(host.check_output(f"docker inspect --format '{{{{json {what}}}}}' {container_id(host, service)}"))


def test_request_through_the_front_reaches_the_app(host):
    answer = get_json(host)
    assert answer["greeting"] == "hello from keel"
    assert answer["path"] == "/"


def test_the_secret_reaches_the_app(host):
    assert get_json(host)["token_sha256"] == hashlib.sha256(SECRET.encode()).hexdigest()


def test_env_file_is_root_only(host):
    env = host.file(f"{STACK}/.env")
    assert (env.user, env.group, env.mode) == ("root", "root", 0o600)
    assert f"APP_TOKEN='{SECRET}'" in env.content_string
    assert host.file(STACK).mode == 0o750


@pytest.mark.parametrize("service", ["app", "front"])
def test_services_are_healthy(host, service):
    assert inspect(host, ".State.Health.Status", service) == "healthy"


def test_resource_limits_come_from_the_table(host):
    resources = inspect(host, ".HostConfig", "app")
    assert resources["NanoCpus"] == 500_000_000
    assert resources["Memory"] == 128 * 2**20


def test_engine_log_options_apply_to_stack_containers(host):
    assert inspect(host, ".HostConfig.LogConfig", "front") == {
        "Type": "json-file",
        "Config": {"max-file": "5", "max-size": "10m"},
    }


def test_changing_one_variable_recreates_only_that_service(host, run_playbook):
    before = {s: container_id(host, s) for s in ("app", "front")}
    run = run_playbook(CONVERGE, "-v", "-e", "stack_greeting='hello again'")
    assert run.rc == 0, run.output[-3000:]
    assert run.recap(host.backend.host)["changed"] >= 1
    after = {s: container_id(host, s) for s in ("app", "front")}
    assert after["app"] != before["app"], "app was not recreated"
    assert after["front"] == before["front"], "front was recreated although nothing of it changed"
    assert get_json(host)["greeting"] == "hello again"
    # -v shows module results; the secret must not be among them.
    assert not run.says(SECRET)


def test_a_definition_compose_rejects_leaves_the_running_stack_alone(host, run_playbook):
    compose_before = host.file(f"{STACK}/compose.yaml").content_string
    app_before = container_id(host, "app")
    # A port mapping Compose refuses.
    run = run_playbook(CONVERGE, "-e", "stack_greeting='hello again'", "-e", "stack_front_port=not-a-port")
    assert run.rc != 0
    assert run.says("docker compose config rejected the new definition of stack 'web'"), run.output[-3000:]
    assert run.says("invalid hostPort: not-a-port")
    assert host.file(f"{STACK}/compose.yaml").content_string == compose_before
    assert "FRONT_PORT='8090'" in host.file(f"{STACK}/.env").content_string
    assert container_id(host, "app") == app_before
    assert get_json(host)["greeting"] == "hello again", "the running stack stopped serving"


def test_a_rejected_definition_leaves_the_live_extra_files_alone(host, run_playbook):
    # The new nginx.conf is staged and checked with the definition, not written before it.
    conf_before = host.file(f"{STACK}/nginx.conf").content_string
    front_started = inspect(host, ".State.StartedAt", "front")
    run = run_playbook(CONVERGE, "-e", "stack_greeting='hello again'", "-e", "stack_front_port=not-a-port",
                       "-e", "stack_proxy_read_timeout=5s")
    assert run.rc != 0
    assert run.says("docker compose config rejected the new definition of stack 'web'"), run.output[-3000:]
    assert "proxy_read_timeout 60s;" in conf_before
    assert host.file(f"{STACK}/nginx.conf").content_string == conf_before
    assert inspect(host, ".State.StartedAt", "front") == front_started, "front was restarted"
    assert not host.file(f"{STACK}/.staged").exists


def test_a_changed_extra_file_restarts_the_services_that_mount_it(host, run_playbook):
    before = {s: container_id(host, s) for s in ("app", "front")}
    front_started = inspect(host, ".State.StartedAt", "front")
    run = run_playbook(CONVERGE, "-e", "stack_greeting='hello again'", "-e", "stack_proxy_read_timeout=5s")
    assert run.rc == 0, run.output[-3000:]
    assert "proxy_read_timeout 5s;" in host.file(f"{STACK}/nginx.conf").content_string
    assert {s: container_id(host, s) for s in ("app", "front")} == before, "a service was recreated"
    assert inspect(host, ".State.StartedAt", "front") != front_started, "front was not restarted"
    assert get_json(host)["greeting"] == "hello again"


def test_check_mode_on_a_host_without_the_stack_changes_nothing(host, run_playbook):
    run = run_playbook(CONVERGE, "--check", "-e", "compose_stack_name=web-check")
    assert run.rc == 0, run.output[-3000:]
    assert not host.file("/opt/web-check").exists
    assert host.check_output("docker ps -aq --filter label=com.docker.compose.project=web-check") == ""


def test_bad_input_is_refused_before_any_change(host, run_playbook):
    run = run_playbook(CONVERGE, "-e", "stack_greeting=\"it's\"", "-e", "stack_front_port=8090")
    assert run.rc != 0
    assert run.says("holds a single quote or a newline")
    assert "it's" not in host.file(f"{STACK}/.env").content_string


def test_restore_then_second_run_changes_nothing(host, run_playbook):
    assert run_playbook(CONVERGE).rc == 0
    again = run_playbook(CONVERGE)
    assert again.rc == 0
    assert again.recap(host.backend.host)["changed"] == 0, again.output[-3000:]
    assert get_json(host)["greeting"] == "hello from keel"


def test_absent_removes_the_stack_and_keeps_volumes(host, run_playbook):
    host.run("docker volume create --label com.docker.compose.project=web web_data")
    run = run_playbook(CONVERGE, "-e", "compose_stack_state=absent")
    assert run.rc == 0, run.output[-3000:]
    assert host.check_output("docker ps -aq --filter label=com.docker.compose.project=web") == ""
    assert not host.file(STACK).exists
    assert host.run("docker volume inspect web_data").rc == 0
