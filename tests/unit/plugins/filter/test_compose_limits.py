# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.filter.compose_limits import FilterModule, compose_limits

DEFINITION = {
    "services": {
        "app": {"image": "app:1"},
        "db": {"image": "postgres:16", "deploy": {"resources": {"limits": {"pids": 100}}}},
    }
}


def test_registered():
    assert FilterModule().filters() == {"compose_limits": compose_limits}


def test_limits_and_reservations_land_in_deploy_resources():
    out = compose_limits(DEFINITION, {"app": {"cpus": 0.5, "memory": "256M", "reservations": {"memory": "128M"}}})
    assert out["services"]["app"]["deploy"]["resources"] == {
        "limits": {"cpus": "0.5", "memory": "256M"},
        "reservations": {"memory": "128M"},
    }
    assert "deploy" not in DEFINITION["services"]["app"], "the input must not be changed"


def test_existing_deploy_keys_are_kept():
    out = compose_limits(DEFINITION, {"db": {"memory": "1G"}})
    assert out["services"]["db"]["deploy"]["resources"]["limits"] == {"pids": 100, "memory": "1G"}


@pytest.mark.parametrize("size", ["512MiB", "1GB", "1.5g", "2 GiB", "1024"])
def test_every_size_the_input_checks_accept_is_taken(size):
    """The same rule as the roles' input checks (_rules.docker_size): a size they let through never fails here."""
    out = compose_limits(DEFINITION, {"app": {"memory": size}})
    assert out["services"]["app"]["deploy"]["resources"]["limits"] == {"memory": size}


def test_empty_table_changes_nothing():
    assert compose_limits(DEFINITION, {}) == DEFINITION


@pytest.mark.parametrize(
    "resources, message",
    [
        ({"ap": {"cpus": 1}}, "services the definition does not have: ap"),
        ({"app": {"cpu": 1}}, "unknown key"),
        ({"app": {"cpus": 0}}, "positive number"),
        ({"app": {"cpus": "many"}}, "positive number"),
        ({"app": {"memory": "lots"}}, "not a size Docker accepts"),
        ({"app": "1G"}, "mapping"),
        (["app"], "must map service names"),
    ],
)
def test_bad_tables_are_refused(resources, message):
    with pytest.raises(AnsibleFilterError, match=message):
        compose_limits(DEFINITION, resources)


def test_definition_without_services_is_refused():
    with pytest.raises(AnsibleFilterError, match="'services' mapping"):
        compose_limits({"version": "3"}, {})
