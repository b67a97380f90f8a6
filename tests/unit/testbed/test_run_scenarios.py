"""The scenario runner: scenarios side by side, a log each, the failing one's tail, Fabric skips, the summary."""

import importlib.util
import json
import os
import time
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[3] / "testbed" / "run_scenarios.py"
spec = importlib.util.spec_from_file_location("run_scenarios", TOOL)
rs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rs)

# A stand-in for `molecule test -s NAME`: sleeps, prints a pytest summary line, and
# fails for scenarios named bad*. It records when it started and ended.
FAKE_MOLECULE = """#!/bin/sh
name="$3"
echo "start $(date +%s.%N)" >> "$TIMES/$name"
sleep 1
echo "log line of $name"
echo "============================== 3 passed in 0.50s =============================="
echo "end $(date +%s.%N)" >> "$TIMES/$name"
case "$name" in bad*) echo "the reason $name failed"; exit 2;; esac
"""


@pytest.fixture
def work(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "molecule"
    fake.write_text(FAKE_MOLECULE)
    fake.chmod(0o755)
    times = tmp_path / "times"
    times.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TIMES", str(times))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(rs, "PROJECT", tmp_path)
    for name, value in {"WORK": work, "LOGS": work / "logs", "RESULTS": work / "scenarios.json",
                        "DURATIONS": work / "durations.json", "PHASES": work / "phases.log",
                        "SUPPLY": work / "supply.yml", "FABRIC_SKIP": work / "fabric-skip.txt"}.items():
        monkeypatch.setattr(rs, name, value)
    (work / "supply.yml").write_text("keel_testbed_fabric_available: false\n")
    (work / "fabric-skip.txt").write_text("hyperledger/fabric-peer:2.5 is not in the engine\n")
    return tmp_path


def spans(root, name):
    lines = dict(line.split() for line in (root / "times" / name).read_text().splitlines())
    return float(lines["start"]), float(lines["end"])


def test_counts_reads_pytests_last_summary_line():
    log = "==== 1 failed, 10 passed in 3.20s ====\nmore\n===== 11 passed in 2.00s (0:00:02) =====\n"
    assert rs.test_counts(log) == "11 passed"
    assert rs.test_counts("no tests here") == ""


def test_scenarios_run_side_by_side_with_a_log_each(work, capsys):
    assert rs.run(["one", "two", "three"], jobs=3) == 0
    starts_and_ends = [spans(work, name) for name in ("one", "two", "three")]
    # All three ran at the same time: each started before any had ended.
    assert max(span[0] for span in starts_and_ends) < min(span[1] for span in starts_and_ends)
    for name in ("one", "two", "three"):
        assert f"log line of {name}" in (work / "work" / "logs" / f"{name}.log").read_text()
    results = json.loads((work / "work" / "scenarios.json").read_text())
    assert results["jobs"] == 3
    assert results["scenarios"]["two"] == {"state": "passed", "seconds": results["scenarios"]["two"]["seconds"],
                                           "tests": "3 passed"}
    assert "two: passed in" in capsys.readouterr().out


def test_one_job_runs_them_one_after_another(work):
    assert rs.run(["one", "two"], jobs=1) == 0
    (s1, e1), (s2, e2) = spans(work, "one"), spans(work, "two")
    assert e1 <= s2 or e2 <= s1


def test_a_failed_scenario_fails_the_run_and_its_log_tail_is_shown(work, capsys):
    assert rs.run(["good", "bad_one"], jobs=2) == 1
    out = capsys.readouterr().out
    assert "bad_one: FAILED (exit 2)" in out
    assert "===== bad_one FAILED: last" in out
    assert "the reason bad_one failed" in out
    assert "the reason good failed" not in out


def test_fabric_scenarios_are_skipped_with_the_test_beds_reason(work, capsys):
    assert rs.run(["one", "fabric_scenario1"], jobs=2) == 0
    assert not (work / "times" / "fabric_scenario1").exists()
    results = json.loads((work / "work" / "scenarios.json").read_text())["scenarios"]
    assert results["fabric_scenario1"]["state"].startswith("SKIPPED")
    assert "fabric-peer:2.5 is not in the engine" in results["fabric_scenario1"]["why"]
    rs.summary()
    out = capsys.readouterr().out
    assert "Fabric: fabric_scenario1 SKIPPED (Fabric images not available)" in out
    assert "fabric-peer:2.5 is not in the engine" in out


def test_fabric_scenarios_run_when_the_images_were_found(work):
    (work / "work" / "supply.yml").write_text("keel_testbed_fabric_available: true\n")
    assert rs.run(["fabric_scenario1"], jobs=1) == 0
    assert (work / "times" / "fabric_scenario1").exists()


def test_longest_scenario_of_earlier_runs_starts_first(work):
    (work / "work" / "durations.json").write_text(json.dumps({"short": 10, "long": 500}))
    assert rs.run(["short", "long"], jobs=1) == 0
    assert spans(work, "long")[0] < spans(work, "short")[0]
    assert set(json.loads((work / "work" / "durations.json").read_text())) == {"short", "long"}


def test_summary_lists_phases_scenarios_and_the_slowest_five(work, capsys):
    (work / "work" / "phases.log").write_text("===== phase lint: 49s, ok =====\n")
    (work / "work" / "scenarios.json").write_text(json.dumps({"jobs": 3, "wall": 700, "scenarios": {
        name: {"state": "passed", "seconds": sec, "tests": "2 passed"}
        for name, sec in [("a", 10), ("b", 60), ("c", 30), ("d", 50), ("e", 40), ("f", 20)]}}))
    rs.summary()
    out = capsys.readouterr().out
    assert "===== phase lint: 49s, ok =====" in out
    assert "6 scenario(s), 3 at a time, 700s wall time" in out
    assert "slowest five: b 60s, d 50s, e 40s, c 30s, f 20s" in out


def test_jobs_must_be_positive():
    with pytest.raises(SystemExit):
        rs.main(["run", "--jobs", "0", "one"])


def test_elapsed_is_whole_seconds(work):
    start = time.monotonic()
    rs.run(["one"], jobs=1)
    seconds = json.loads((work / "work" / "scenarios.json").read_text())["scenarios"]["one"]["seconds"]
    assert isinstance(seconds, int)
    assert seconds <= round(time.monotonic() - start) + 1
