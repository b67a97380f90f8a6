# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.filter.image_ref import FilterModule, image_ref, missing_images

ARCHIVES = [
    {"image": "nginx", "src": "/srv/nginx.tar"},
    {"image": "docker.io/hyperledger/fabric-peer:2.5.16", "src": "/srv/peer.tar"},
    {"image": "localhost:5000/keel/app:1", "src": "/srv/app.tar"},
]


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"image_ref", "missing_images"}


def test_image_ref_normalizes():
    assert image_ref("docker.io/library/nginx") == "nginx:latest"


def test_image_ref_reports_bad_input_as_filter_error():
    with pytest.raises(AnsibleFilterError, match="repository name component"):
        image_ref("UPPER/case")


def test_nothing_present_means_everything_missing():
    assert missing_images(ARCHIVES, []) == ARCHIVES


def test_present_images_match_whatever_spelling_was_used():
    # What docker_image_info reports in RepoTags for these images.
    present = ["nginx:latest", "hyperledger/fabric-peer:2.5.16", "<none>:<none>"]
    assert missing_images(ARCHIVES, present) == [ARCHIVES[2]]


def test_all_present_means_nothing_to_load():
    present = ["nginx:latest", "hyperledger/fabric-peer:2.5.16", "localhost:5000/keel/app:1"]
    assert missing_images(ARCHIVES, present) == []


def test_another_tag_of_the_same_image_does_not_count():
    wanted = [{"image": "nginx:1.27", "src": "x"}]
    assert missing_images(wanted, ["nginx:1.26"]) == wanted


@pytest.mark.parametrize("archives", [{"image": "nginx"}, ["nginx"], [{"src": "/srv/nginx.tar"}]])
def test_bad_archive_items_are_refused(archives):
    with pytest.raises(AnsibleFilterError, match="missing_images"):
        missing_images(archives, [])
