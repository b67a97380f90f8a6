"""The stack's images came through the local registry mirror, and it serves."""

import json

import pytest


def test_request_through_the_front_reaches_the_app(host):
    cmd = host.run("curl -fsS --retry 15 --retry-delay 1 --retry-all-errors --max-time 5 http://127.0.0.1:8090/")
    assert cmd.rc == 0, cmd.stderr
    assert json.loads(cmd.stdout)["greeting"] == "hello from keel"


@pytest.mark.parametrize("image", ["keel-testbed/echo-app:1", "keel-testbed/nginx:1.22"])
def test_images_were_pulled_from_the_mirror(host, image):
    digests = json.loads(host.check_output(f"docker image inspect --format '{{{{json .RepoDigests}}}}' {image}"))
    assert digests and digests[0].startswith(image.split(":")[0] + "@sha256:")
