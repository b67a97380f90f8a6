"""The restore drill and the restore of keel-awx-db through their job templates and surveys, run the way
AWX 24.6.1 runs them (testbed/awx_job.py): answers as a survey types them (the databases as a text, the
confirmation as the choice "true" or "false"), deploy over SSH with sudo by password.
"""

import awx_job  # testbed/awx_job.py, put on sys.path by awx_helpers (imported by conftest.py)
import pytest
import testinfra

DB = "keel-awx-db"
SENTINEL = "SELECT note FROM keel_sentinel"
RESTORE = {"postgres_restore_hosts": "postgres_servers", "postgres_restore_backup": "latest",
           "postgres_restore_source": "local", "postgres_restore_databases": "shop"}


@pytest.fixture(scope="module")
def db():
    return testinfra.get_host(f"docker://{DB}")


def psql(db, sql):
    live = db.check_output("docker ps -q --filter label=com.docker.compose.project=postgres"
                           " --filter label=com.docker.compose.service=postgres")
    return db.run(f"docker exec {live} psql -X -At -U postgres -d shop -c %s", sql)


def job(launch, template, answers):
    return awx_job.launch({**launch, "template": template, "answers": answers})


def test_the_drill_runs_through_its_survey(launch):
    result = job(launch, "Keel Postgres restore drill",
                 {"postgres_drill_hosts": "postgres_servers", "postgres_drill_backup": "latest"})
    assert result["status"] == "successful", result["stdout"][-3000:]
    assert result["changed"].get(DB, 0) == 0


def test_a_restore_answered_false_stops_before_any_change(launch, db):
    assert psql(db, "DROP TABLE keel_sentinel").rc == 0
    result = job(launch, "Keel Postgres restore", {**RESTORE, "postgres_restore_confirm": "false"})
    assert result["status"] == "failed" and "Nothing was changed" in result["stdout"]
    assert psql(db, SENTINEL).rc != 0


def test_a_confirmation_the_survey_does_not_offer_is_refused(launch):
    refused = job(launch, "Keel Postgres restore", {**RESTORE, "postgres_restore_confirm": "yes"})
    assert refused["status"] == "refused"
    assert refused["errors"] == ["Value yes for 'postgres_restore_confirm' expected to be one of ['false', 'true']."]


def test_the_confirmed_restore_brings_the_table_back(launch, db):
    result = job(launch, "Keel Postgres restore", {**RESTORE, "postgres_restore_confirm": "true"})
    assert result["status"] == "successful", result["stdout"][-3000:]
    assert "restored into shop" in result["stdout"]
    assert psql(db, SENTINEL).stdout.strip() == "awx-sentinel-27f4"
