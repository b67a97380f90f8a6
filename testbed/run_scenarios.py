"""Run Molecule scenarios side by side, each with its own log, and summarise the suite.

    run_scenarios.py run [--jobs N] SCENARIO...   `molecule test -s` each scenario, N at a time
    run_scenarios.py summary                        the end-of-suite report of `make test`

Scenarios are independent by construction: every scenario names its own hosts
and service containers (molecule/*/molecule.yml), and they share only the test
bed's registry, package cache and network. The longest scenarios (from the
durations of earlier runs) start first, so the suite ends when the longest
one does. Each scenario's output goes to .testbed/logs/<scenario>.log; the
console gets one line when a scenario starts and one when it ends. A failed
scenario's log tail is printed at the end. fabric_* scenarios run only when the
test bed found the Fabric images (Keel never builds them); otherwise they are
reported as skipped, with the test bed's reason.

Results go to .testbed/scenarios.json (read by `summary`), durations to
.testbed/durations.json (kept between runs, for the order of the next one).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
WORK = PROJECT / ".testbed"
LOGS = WORK / "logs"
RESULTS = WORK / "scenarios.json"
DURATIONS = WORK / "durations.json"
PHASES = WORK / "phases.log"
SUPPLY = WORK / "supply.yml"
FABRIC_SKIP = WORK / "fabric-skip.txt"
LOG_TAIL = 120


def say(msg: str) -> None:
    print(f"[molecule] {time.strftime('%H:%M:%S')} {msg}", flush=True)


def fabric_state() -> tuple[bool, str]:
    """Whether the test bed found the Fabric images, and its reason when it did not."""
    try:
        available = "keel_testbed_fabric_available: true" in SUPPLY.read_text().splitlines()
    except OSError:
        return False, f"no {SUPPLY.relative_to(PROJECT)}: run `make testbed` first"
    if available:
        return True, ""
    try:
        return False, FABRIC_SKIP.read_text().strip()
    except OSError:
        return False, "the test bed did not find the Fabric images"


def test_counts(log: str) -> str:
    """pytest's last summary line of a scenario's log, e.g. '11 passed' or '1 failed, 10 passed'."""
    found = re.findall(r"^=+ (.*?) in [0-9.]+s(?: \([0-9:]+\))? =+$", log, re.MULTILINE)
    return found[-1] if found else ""


def load_json(path: Path, default):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def run_one(name: str, results: dict, lock: threading.Lock) -> None:
    log_path = LOGS / f"{name}.log"
    start = time.monotonic()
    say(f"{name}: started (log {log_path.relative_to(PROJECT)})")
    with log_path.open("w") as log:
        rc = subprocess.call(["molecule", "test", "-s", name], stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=PROJECT)
    seconds = round(time.monotonic() - start)
    tests = test_counts(log_path.read_text(errors="replace"))
    state = "passed" if rc == 0 else f"FAILED (exit {rc})"
    with lock:
        results[name] = {"state": state, "seconds": seconds, "tests": tests}
    say(f"{name}: {state} in {seconds}s{f' ({tests})' if tests else ''}")


def run(scenarios: list[str], jobs: int) -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    fabric, why = fabric_state()
    results: dict[str, dict] = {}
    todo = []
    for name in scenarios:
        if name.startswith("fabric_") and not fabric:
            results[name] = {"state": "SKIPPED (Fabric images not available)", "seconds": 0, "tests": "",
                             "why": why}
            say(f"{name}: SKIPPED, Fabric images not available: {why}")
        else:
            todo.append(name)
    known = load_json(DURATIONS, {})
    todo.sort(key=lambda name: -known.get(name, 0))
    say(f"{len(todo)} scenario(s), {jobs} at a time, longest first: {' '.join(todo)}")
    lock = threading.Lock()
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for name in todo:
            pool.submit(run_one, name, results, lock)
    wall = round(time.monotonic() - start)
    known.update({name: res["seconds"] for name, res in results.items() if res["state"] == "passed"})
    DURATIONS.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")
    RESULTS.write_text(json.dumps({"jobs": jobs, "wall": wall,
                                   "scenarios": {n: results[n] for n in scenarios}}, indent=1) + "\n")
    failed = [name for name in scenarios if results[name]["state"].startswith("FAILED")]
    for name in failed:
        lines = (LOGS / f"{name}.log").read_text(errors="replace").splitlines()
        print(f"\n===== {name} FAILED: last {min(LOG_TAIL, len(lines))} lines of "
              f"{(LOGS / f'{name}.log').relative_to(PROJECT)} =====")
        print("\n".join(lines[-LOG_TAIL:]))
    say(f"{len(todo)} scenario(s) in {wall}s wall time, {len(failed)} failed")
    return 1 if failed else 0


def summary() -> int:
    """Every phase and scenario with its time, the five slowest scenarios, the Fabric state."""
    print("\n===== summary =====")
    phases = PHASES.read_text().splitlines() if PHASES.exists() else []
    for line in phases:
        print(line)
    data = load_json(RESULTS, {})
    scenarios = data.get("scenarios", {})
    if scenarios:
        print(f"\nmolecule: {len(scenarios)} scenario(s), {data['jobs']} at a time, {data['wall']}s wall time")
        width = max(len(name) for name in scenarios)
        for name, res in scenarios.items():
            tests = f"  {res['tests']}" if res["tests"] else ""
            print(f"  {name:<{width}}  {res['seconds']:>5}s  {res['state']}{tests}")
        ran = sorted((res["seconds"], name) for name, res in scenarios.items() if res["seconds"])
        print("slowest five: " + ", ".join(f"{name} {sec}s" for sec, name in reversed(ran[-5:])))
    fabric = {name: res for name, res in scenarios.items() if name.startswith("fabric_")}
    if fabric:
        for name, res in fabric.items():
            state = "run, " + res["state"] if "why" not in res else res["state"]
            print(f"Fabric: {name} {state}")
            if "why" in res:
                print("  " + res["why"].replace("\n", "\n  "))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    run_p = sub.add_parser("run")
    run_p.add_argument("--jobs", type=int, default=3, help="scenarios at a time (make: MOLECULE_JOBS)")
    run_p.add_argument("scenarios", nargs="+")
    sub.add_parser("summary")
    args = parser.parse_args(argv)
    if args.action == "run":
        if args.jobs < 1:
            parser.error("--jobs must be 1 or more")
        return run(args.scenarios, args.jobs)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
