"""The offline AWX rules (awx_rules.py) refuse what AWX refuses, on small made-up definitions."""

import copy

import pytest
from awx_rules import (
    answer_errors,
    credential_errors,
    credential_type_errors,
    module_errors,
    question_fit_errors,
    survey_errors,
    template_credential_errors,
)

OPTIONS = {"name": {"type": "str", "required": True}, "kind": {"type": "str", "choices": ["cloud", "net"]},
           "wait": {"type": "bool"}, "labels": {"type": "list", "elements": "str"}}
QUESTION = {"question_name": "Q", "variable": "v", "type": "text", "required": True}
SURVEY = {"name": "S", "description": "", "spec": [QUESTION]}
TYPE = {"name": "T", "kind": "cloud",
        "inputs": {"fields": [{"id": "key", "label": "Key", "secret": True, "multiline": True}], "required": ["key"]},
        "injectors": {"file": {"template.key": "{{ key }}"}, "env": {"KEY_FILE": "{{ tower.filename.key }}"},
                      "extra_vars": {"a_var": "{{ key }}", "nested": {"b": ["{{ key }}"]}}}}


def test_module_errors_name_unknown_missing_mistyped_and_wrong_choices():
    assert module_errors({"name": "x", "kind": "cloud", "wait": True, "labels": ["a"]}, OPTIONS) == []
    errors = module_errors({"kind": "ssh", "wait": "yes", "labels": [1], "colour": "red"}, OPTIONS)
    assert errors == ["unknown option 'colour'", "missing required option 'name'",
                      "kind: 'ssh' is not one of ['cloud', 'net']", "wait: 'yes' is no bool", "labels: 1 is no str"]
    assert module_errors({"name": "x", "labels": True}, {**OPTIONS, "labels": {"type": "int"}}) == [
        "labels: True is no int"]


def test_a_well_formed_survey_passes():
    spec = [QUESTION, {**QUESTION, "variable": "n", "type": "integer", "default": 3, "min": 1, "max": 5},
            {**QUESTION, "variable": "c", "type": "multiplechoice", "choices": ["a", "b"], "default": "b"},
            {**QUESTION, "variable": "m", "type": "multiselect", "choices": "a\nb", "default": "a\nb"}]
    assert survey_errors({**SURVEY, "spec": spec}) == []


@pytest.mark.parametrize(("change", "error"), [
    ({"name": None}, "'name': missing or no str"),
    ({"spec": []}, "'spec' has no question"),
    ({"spec": [{**QUESTION, "required": "yes"}]}, "question 0: 'required' missing or no bool"),
    ({"spec": [QUESTION, QUESTION]}, "question 1: variable 'v' asked twice"),
    ({"spec": [{**QUESTION, "type": "boolean"}]}, "question 0: type 'boolean' is none of"),
    ({"spec": [{**QUESTION, "type": "integer", "default": "3"}]}, "question 0: default '3' does not fit type integer"),
    ({"spec": [{**QUESTION, "type": "multiselect", "default": ["a"], "choices": ["a"]}]},
     "question 0: default ['a'] does not fit type multiselect"),
    ({"spec": [{**QUESTION, "type": "multiplechoice"}]}, "question 0: a multiplechoice question needs choices"),
    ({"spec": [{**QUESTION, "type": "multiplechoice", "choices": ["a", "b"], "default": "a\nb"}]},
     "question 0: a multiplechoice question has one default"),
    ({"spec": [{**QUESTION, "type": "multiplechoice", "choices": ["a"], "default": "c"}]},
     "question 0: default 'c' is not a choice"),
    ({"spec": [{**QUESTION, "min": "1"}]}, "question 0: min '1' is no integer"),
    ({"spec": [{**QUESTION, "default": "abc", "max": 2}]}, "question 0: default: 'v': 'abc' is above its max 2"),
])
def test_survey_errors_refuse_what_awx_refuses(change, error):
    errors = survey_errors({**SURVEY, **change})
    assert any(e.startswith(error) for e in errors), errors


@pytest.mark.parametrize(("question", "answer", "error"), [
    (QUESTION, {}, "'v' value missing"),
    (QUESTION, {"v": True}, "'v': True is no string"),
    ({**QUESTION, "type": "integer"}, {"v": "3"}, "'v': '3' is no integer"),
    ({**QUESTION, "type": "integer"}, {"v": 2.5}, "'v': 2.5 is no integer"),
    ({**QUESTION, "type": "multiselect", "choices": ["a"]}, {"v": "a"}, "'v': 'a' is no list"),
    ({**QUESTION, "type": "multiselect", "choices": ["a"]}, {"v": ["b"]}, "'v': 'b' is not one of ['a']"),
    ({**QUESTION, "type": "multiplechoice", "choices": ["a"]}, {"v": "b"}, "'v': 'b' is not one of ['a']"),
])
def test_answers_are_typed_strictly(question, answer, error):
    assert answer_errors(question, answer) == [error]


def test_optional_question_without_answer_is_left_out():
    assert answer_errors({**QUESTION, "required": False}, {}) == []


def test_a_well_formed_credential_type_passes():
    assert credential_type_errors(TYPE) == []


@pytest.mark.parametrize(("path", "value", "error"), [
    (("kind",), "ssh", "kind 'ssh': a custom credential type is cloud or net"),
    (("inputs", "fields", 0, "id"), "tower", "field id 'tower': invalid, reserved or repeated"),
    (("inputs", "fields", 0, "type"), "boolean", "field 'key': multiline only on a string"),
    (("inputs", "fields", 0, "default"), True, "field 'key': default True is no string"),
    (("inputs", "fields", 0, "colour"), "red", "field 'key': unknown key 'colour'"),
    (("inputs", "required"), ["other"], "required 'other' is no field"),
    (("injectors", "file", "template"), "{{ key }}", "file: one unnamed `template`"),
    (("injectors", "file", "bad-key"), "x", "file: invalid key 'bad-key'"),
    (("injectors", "env", "ANSIBLE_CONFIG"), "x", "env 'ANSIBLE_CONFIG': invalid or not allowed"),
    (("injectors", "env", "PATH"), "x", "env 'PATH': invalid or not allowed"),
    (("injectors", "env", "OTHER"), "{{ secret }}", "env OTHER: 'secret' is undefined"),
    (("injectors", "env", "OTHER"), "{{ tower.filename.other }}", "env OTHER:"),
    (("injectors", "extra_vars", "c"), "{{ key", "extra_vars c:"),
    (("injectors", "extra_vars", "nested", "b", 0), "{{ nope }}", "extra_vars nested.b[0]: 'nope' is undefined"),
])
def test_credential_type_errors_refuse_what_awx_refuses(path, value, error):
    broken = copy.deepcopy(TYPE)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    errors = credential_type_errors(broken)
    assert any(e.startswith(error) for e in errors), errors


CREDENTIALS = {"m1": {"credential_type": "Machine"}, "m2": {"credential_type": "Machine"},
               "t1": {"credential_type": "T"}, "t2": {"credential_type": "T"},
               "v1": {"credential_type": "Vault", "inputs": {"vault_id": "a"}},
               "v2": {"credential_type": "Vault", "inputs": {"vault_id": "b"}},
               "s": {"credential_type": "S"}}
TYPES = {"T": TYPE, "S": {**TYPE, "kind": "scm"}}


def test_one_credential_per_type_on_a_template():
    assert template_credential_errors(["m1", "t1", "v1", "v2"], CREDENTIALS, TYPES) == []
    assert template_credential_errors(["m1", "m2"], CREDENTIALS, TYPES) == [
        "'m1' and 'm2' are both of type 'Machine': AWX holds one per type"]
    assert template_credential_errors(["t2", "t1"], CREDENTIALS, TYPES) == [
        "'t2' and 't1' are both of type 'T': AWX holds one per type"]
    assert template_credential_errors(["s", "x"], CREDENTIALS, TYPES) == [
        "credential 's': a job template takes no scm credential", "credential 'x' is not defined"]


def test_credential_inputs_fit_their_type_and_secrets_are_placeholders():
    assert credential_errors({"credential_type": "T", "inputs": {"key": "CHANGE-ME: a key"}}, TYPES) == []
    assert credential_errors({"credential_type": "T", "inputs": {"key": "-----BEGIN", "x": 1}}, TYPES) == [
        "input 'x' is no field of 'T'", "secret input 'key' is no CHANGE-ME placeholder"]
    assert credential_errors({"credential_type": "T", "inputs": {}}, TYPES) == ["required input 'key' missing"]
    assert credential_errors({"credential_type": "Machine", "inputs": {"username": "u", "password": "pw"}},
                             TYPES) == ["secret input 'password' is no CHANGE-ME placeholder"]
    assert credential_errors({"credential_type": "Nope"}, TYPES) == ["credential type 'Nope' is not defined"]


@pytest.mark.parametrize(("question", "kwargs", "fits"), [
    ({"type": "text"}, {"option": {"type": "str"}}, True),
    ({"type": "integer"}, {"option": {"type": "int"}}, True),
    ({"type": "text"}, {"option": {"type": "int"}}, False),
    ({"type": "text"}, {"option": {"type": "bool"}}, False),
    ({"type": "multiplechoice", "choices": ["true", "false"]}, {"option": {"type": "bool"}}, False),
    ({"type": "text"}, {"option": {"type": "list"}}, False),
    ({"type": "multiselect", "choices": ["a"]}, {"option": {"type": "list", "choices": ["a", "b"]}}, True),
    ({"type": "text"}, {"option": {"type": "str", "choices": ["a"]}}, False),
    ({"type": "multiplechoice", "choices": ["a", "c"]}, {"option": {"type": "str", "choices": ["a", "b"]}}, False),
    ({"type": "text"}, {"option": {"type": "dict"}}, False),
    ({"type": "text"}, {"play_default": []}, False),
    ({"type": "text"}, {"play_default": [], "reads_as_list": True}, True),
    ({"type": "integer"}, {"play_default": [], "reads_as_list": True}, False),
    ({"type": "text"}, {"play_default": False, "reads_as_bool": True}, False),
    ({"type": "multiplechoice", "choices": ["false", "true"]}, {"play_default": False}, False),
    ({"type": "multiplechoice", "choices": ["false", "true"]}, {"play_default": False, "reads_as_bool": True}, True),
    ({"type": "text"}, {"play_default": "latest"}, True),
])
def test_question_fits_the_variable_type(question, kwargs, fits):
    assert (question_fit_errors({"variable": "v", **question}, **kwargs) == []) is fits
