"""Running a module's main() in-process against a fake command runner (shared by the module tests)."""

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class Exit(Exception):
    """What the module ended with: exit_json (failed False) or fail_json (failed True)."""

    def __init__(self, result, failed):
        super().__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


@pytest.fixture
def run_module(monkeypatch):
    """run_module(main, args, runner, check_mode=False, diff=False) -> Exit.

    Runs a module's ``main`` with ``args``; ``runner(argv, environ_update=...)``
    answers every command it runs as (rc, out, err).
    """

    def run(main, args, runner, check_mode=False, diff=False):
        return _run(monkeypatch, main, args, runner, check_mode, diff)

    return run


def _run(monkeypatch, main, args, runner, check_mode, diff):
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True

    def exit_json(self, **result):
        raise Exit(result, False)

    def fail_json(self, **result):
        raise Exit(result, True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, argv, **kw: runner(argv, **kw))
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, **kw: "/usr/bin/" + name)
    with patch_module_args(args), pytest.raises(Exit) as exc:
        main()
    json.dumps(exc.value.result)  # results must be serializable
    return exc.value


class FakeKafka:
    """Kafka's tools as the kafka modules see them: describe answers ``describe``, every other
    command rc 0, except a command holding a word of ``fail`` ({word: (rc, stdout)}). Records every call."""

    def __init__(self, describe="", fail=None):
        self.describe = describe
        self.fail = fail or {}
        self.calls = []

    def __call__(self, argv, environ_update=None, **_kw):
        self.calls.append(argv)
        if "--describe" in argv:
            return 0, self.describe, ""
        for word, (rc, out) in self.fail.items():
            if word in argv:
                return rc, out, "ERROR something\n"
        return 0, "done\n", ""

    def changes(self):
        return [c for c in self.calls if "--describe" not in c]


@pytest.fixture
def fake_kafka():
    """fake_kafka(describe="", fail=None) -> FakeKafka, a runner for run_module."""
    return FakeKafka


class FakeCli:
    """A command runner that answers by the first listed word found in the command line, and records every command.

    An answer may be a list of answers: given one after the other, the last one again and again."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, environ_update=None, **_kw):
        self.calls.append(argv)
        for word, answer in self.answers:
            if word in argv:
                if isinstance(answer, list):
                    return answer.pop(0) if len(answer) > 1 else answer[0]
                return answer
        return 0, "", ""

    def ran(self, word):
        return [c for c in self.calls if word in c]


@pytest.fixture
def fake_cli():
    """FakeCli, for a test to build with its answers: fake_cli([("list", (0, out, err)), ...])."""
    return FakeCli
