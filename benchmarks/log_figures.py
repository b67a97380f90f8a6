"""The figures of one timed converge log, for the benchmark scripts: seconds of the playbook run (the
ansible.posix.timer callback), tasks run on the busiest host (ok + skipped), changed tasks on all hosts.

Usage: python3 benchmarks/log_figures.py LOG   -> prints "seconds tasks changed"
"""

import re
import sys


def figures(log):
    took = re.findall(r"Playbook run took (\d+) days?, (\d+) hours?, (\d+) minutes?, (\d+) seconds?", log)
    seconds = sum(int(d) * 86400 + int(h) * 3600 + int(m) * 60 + int(s) for d, h, m, s in took)
    recap = [(int(ok), int(ch), int(sk)) for ok, ch, sk in
             re.findall(r"^\S+\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=\d+\s+skipped=(\d+)", log, re.M)]
    tasks = max((ok + skipped for ok, _changed, skipped in recap), default=0)
    return seconds, tasks, sum(changed for _ok, changed, _skipped in recap)


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        print(*figures(handle.read()))
