"""The example inventories are what users copy: what they show must be able to catch a problem."""

import re
from pathlib import Path

import yaml

INVENTORIES = Path(__file__).resolve().parents[3] / "inventories"
# A count compared with >= 0 is true for every table, an empty one included.
ALWAYS_TRUE = re.compile(r"count\s*\([^)]*\)\s*>=\s*0", re.IGNORECASE)


def drill_checks():
    for path in sorted(INVENTORIES.rglob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        for check in data.get("postgres_backup_drill_checks", []) if isinstance(data, dict) else []:
            yield path.relative_to(INVENTORIES), check


def test_the_examples_show_restore_drill_sentinels():
    assert list(drill_checks()), "no example inventory shows postgres_backup_drill_checks"


def test_no_example_sentinel_can_never_fail():
    # Found in review: inventories/5soffice checked `SELECT count(*) >= 0 FROM pg_tables`.
    never_fail = [f"{path}: {check['query']}" for path, check in drill_checks() if ALWAYS_TRUE.search(check["query"])]
    assert never_fail == []
