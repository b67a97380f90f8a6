# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest
from ansible_collections.keel.infra.plugins.module_utils._image_ref import (
    ImageRefError,
    normalize_image_ref,
    split_image_ref,
)

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("nginx", "nginx:latest"),
        ("nginx:1.27", "nginx:1.27"),
        ("docker.io/library/nginx:1.27", "nginx:1.27"),
        ("index.docker.io/nginx", "nginx:latest"),
        ("library/nginx", "nginx:latest"),
        ("hyperledger/fabric-peer:2.5.16", "hyperledger/fabric-peer:2.5.16"),
        ("docker.io/hyperledger/fabric-peer", "hyperledger/fabric-peer:latest"),
        ("localhost:5000/keel/app:1", "localhost:5000/keel/app:1"),
        ("registry.example:5000/nginx", "registry.example:5000/nginx:latest"),
        ("nginx@" + DIGEST, "nginx@" + DIGEST),
        ("nginx:1.27@" + DIGEST, "nginx:1.27@" + DIGEST),
        ("  nginx:1.27 ", "nginx:1.27"),
    ],
)
def test_normalize(ref, expected):
    assert normalize_image_ref(ref) == expected


def test_split_keeps_registry_port_apart_from_tag():
    assert split_image_ref("localhost:5000/app") == ("localhost:5000", "app", "latest", None)


@pytest.mark.parametrize(
    "ref, message",
    [
        ("", "non-empty"),
        (None, "non-empty"),
        ("Nginx", "repository name component"),
        ("nginx:", "tag"),
        ("nginx:bad tag", "tag"),
        ("nginx@sha256:123", "digest"),
        ("my//app", "repository name component"),
    ],
)
def test_rejects_references_docker_would_refuse(ref, message):
    with pytest.raises(ImageRefError, match=message):
        split_image_ref(ref)
