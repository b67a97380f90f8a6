# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.filter.host_fit import (
    FilterModule,
    host_fit_errors,
    host_needs,
    port_clashes,
)

GIB = 1024 ** 3
# The seed's Tier 1 table: 4.5 vCPU and 9 GB of services.
SERVICES = {
    "api-gateway": {"cpus": 0.5, "memory": "1G"},
    "finance-gl": {"cpus": 1, "memory": "2G"},
    "inventory-core": {"cpus": 1, "memory": "2G"},
    "sales-core": {"cpus": "1", "memory": "2g"},
    "procurement-core": {"cpus": 1.0, "memory": "2048m"},
}
SEED_HOST = {"cpus": 8, "memory_mb": 32 * 1024}


def test_registered():
    assert FilterModule().filters() == {
        "host_needs": host_needs, "host_fit_errors": host_fit_errors, "port_clashes": port_clashes}


def test_the_seed_services_need_four_and_a_half_vcpu_and_nine_gib():
    needs = host_needs(SERVICES)
    assert needs["cpus"] == 4.5
    assert needs["memory"] == 9 * GIB
    assert needs["services"] == 5
    assert needs["overhead"] == {"cpus": 0, "memory": 0}


def test_overhead_is_added():
    needs = host_needs(SERVICES, {"cpus": 0.5, "memory": "2G"})
    assert (needs["cpus"], needs["memory"]) == (5.0, 11 * GIB)
    assert needs["limits"] == {"cpus": 4.5, "memory": 9 * GIB}


def test_the_seed_stack_fits_the_seed_host():
    assert host_fit_errors(SERVICES, SEED_HOST, {"cpus": 0.5, "memory": "2G"}) == []


def test_exactly_full_fits():
    assert host_fit_errors({"a": {"cpus": 8, "memory": "32G"}}, SEED_HOST) == []


def test_an_undersized_host_is_told_what_is_short_in_figures():
    errors = host_fit_errors(SERVICES, {"cpus": 2, "memory_mb": 4096}, {"cpus": 0.5, "memory": "2G"},
                             "ChiroERP on erp1", "Choose smaller limits.")
    assert errors == [
        "ChiroERP on erp1 needs 5 vCPU and 11 GiB of memory (limits of its 5 services: 4.5 vCPU, 9 GiB; "
        "overhead: 0.5 vCPU, 2 GiB), this host has 2 vCPU and 4 GiB: 3 vCPU short and 7 GiB of memory short. "
        "Choose smaller limits."]


def test_only_what_is_short_is_named():
    errors = host_fit_errors(SERVICES, {"cpus": 4, "memory_mb": 64 * 1024})
    assert errors[0].endswith("0.5 vCPU short.")
    assert "memory short" not in errors[0]


@pytest.mark.parametrize("table, message", [
    ({"app": {"cpus": 1}}, "gives app no cpus or no memory limit"),
    ({"app": {"memory": "1G"}}, "gives app no cpus or no memory limit"),
    ({"app": {"cpus": "lots", "memory": "1G"}}, "app cpus 'lots' is not a number of processors"),
    ({"app": {"cpus": -1, "memory": "1G"}}, "app cpus '-1' is not a number of processors"),
    ({"app": {"cpus": 1, "memory": "4 gigs"}}, "app memory '4 gigs' is not a size Docker accepts"),
])
def test_a_table_that_cannot_be_summed_is_an_error(table, message):
    with pytest.raises(AnsibleFilterError, match=message):
        host_needs(table)


def test_port_clashes_name_both_owners():
    assert port_clashes([["finance-gl", 8081], ["inventory-core", 9001], ["sales-core", "8081"], ["grafana", ""]]) == [
        "port 8081 is wanted by finance-gl and by sales-core: give one of them another port."]
    assert port_clashes([["a", 1], ["b", 2]]) == []


def test_port_clashes_wants_pairs():
    with pytest.raises(AnsibleFilterError, match="list of \\[owner, port\\] items"):
        port_clashes([["a", 1, 2]])
