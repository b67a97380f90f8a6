"""An engine inside the host runs containers from locally supplied images."""

import json

import pytest

NGINX = "keel-testbed/nginx:1.22"
MIRRORED = "keel-testbed/registry:2.8"


def docker(host, *args):
    return host.check_output("docker " + " ".join(args))


def http_get(host, url):
    # Bounded retries: a freshly started container may need a moment.
    cmd = host.run(f"curl -fsS --retry 10 --retry-delay 1 --retry-all-errors --max-time 5 {url}")
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout


def test_engine_runs_inside_the_host(host):
    assert host.service("docker").is_running
    assert host.service("docker").is_enabled
    info = json.loads(docker(host, "info", "--format", "'{{json .}}'"))
    assert info["Driver"] == "overlay2"
    assert info["LiveRestoreEnabled"] is True
    assert info["RegistryConfig"]["Mirrors"] == ["http://keel-registry:5000/"]


def test_compose_plugin_is_the_pinned_build(host):
    assert docker(host, "compose", "version", "--short") == "2.29.7"


def test_archive_image_serves_a_request_on_a_published_port(host):
    assert "served by keel-testbed/nginx" in http_get(host, "http://127.0.0.1:8080/")
    # Loaded from `docker save` output: an image with no registry digest.
    digests = docker(host, "image", "inspect", "--format", "'{{json .RepoDigests}}'", NGINX)
    assert json.loads(digests) == []


def test_mirrored_image_serves_a_request_on_a_published_port(host):
    assert http_get(host, "http://127.0.0.1:8081/v2/").strip() == "{}"
    # Pulled from a registry (the mirror): the image carries its digest there.
    digests = json.loads(docker(host, "image", "inspect", "--format", "'{{json .RepoDigests}}'", MIRRORED))
    assert digests and digests[0].startswith("keel-testbed/registry@sha256:")


def test_log_rotation_applies_to_new_containers(host):
    config = json.loads(docker(host, "inspect", "--format", "'{{json .HostConfig.LogConfig}}'", "web-from-archive"))
    assert config == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "5m"}}


def test_staged_archives_are_removed(host):
    assert host.file("/var/lib/keel/image-archives").is_directory
    assert host.file("/var/lib/keel/image-archives").mode == 0o700
    assert host.run("ls -A /var/lib/keel/image-archives").stdout.strip() == ""


@pytest.mark.parametrize("port", [8080, 8081])
def test_published_ports_listen(host, port):
    assert host.socket(f"tcp://0.0.0.0:{port}").is_listening
