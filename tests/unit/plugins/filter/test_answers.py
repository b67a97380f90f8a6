"""keel.infra.answer_list: a list variable as given, or from the text a survey gives."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.filter.answers import FilterModule, answer_list


@pytest.mark.parametrize(("value", "items"), [
    (["app", "reports"], ["app", "reports"]),
    (("app",), ["app"]),
    ("app, reports", ["app", "reports"]),
    ("app reports\nledger,,", ["app", "reports", "ledger"]),
    ("  ", []),
    ("", []),
    (None, []),
    ([], []),
])
def test_a_list_stays_and_a_text_is_split_into_items(value, items):
    assert answer_list(value) == items


@pytest.mark.parametrize("value", [7, {"app": 1}, True])
def test_what_is_neither_a_list_nor_a_text_is_refused(value):
    with pytest.raises(AnsibleFilterError, match="expected a list or a text"):
        answer_list(value)


def test_registered():
    assert FilterModule().filters() == {"answer_list": answer_list}
