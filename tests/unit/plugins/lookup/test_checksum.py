"""keel.infra.checksum: the SHA-1 of controller files, as copy computes it."""

import hashlib

import pytest
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible_collections.keel.infra.plugins.lookup.checksum import LookupModule


def test_the_sha1_of_each_file(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(b"\x00binary\xff" * 1000)
    second.write_text("text\n")
    lookup = LookupModule(loader=DataLoader())
    assert lookup.run([str(first), str(second)], variables={}) == [
        hashlib.sha1(first.read_bytes()).hexdigest(), hashlib.sha1(b"text\n").hexdigest()]  # noqa: S324


def test_a_missing_file_is_named(tmp_path):
    lookup = LookupModule(loader=DataLoader())
    with pytest.raises(AnsibleLookupError, match="missing"):
        lookup.run([str(tmp_path / "missing")], variables={})
