"""The test-bed tool: recipe hashes, build order and its error messages."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[3] / "testbed" / "keel_testbed.py"
spec = importlib.util.spec_from_file_location("keel_testbed", TOOL)
tb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tb)

CFG = {"debian": {"suite": "bookworm", "mirror": "http://deb.example/debian"}}


def make_image(root, key, builder="dockerfile", after=(), files=None):
    folder = root / key
    folder.mkdir()
    spec_lines = [f"name: keel-testbed/{key}", "tag: t", f"builder: {builder}"]
    if after:
        spec_lines.append("after: [" + ", ".join(after) + "]")
    (folder / "image.yml").write_text("\n".join(spec_lines) + "\n")
    for name, text in (files or {"Dockerfile": "FROM scratch\n"}).items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def images_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(tb, "IMAGES_DIR", tmp_path)
    return tmp_path


def test_the_project_recipes_load_and_order(monkeypatch):
    images = tb.load_images()
    order = tb.build_order(images)
    assert order.index("debian12-slim") < order.index("nginx")
    assert images["debian12-host"]["builder"] == "debootstrap"


def test_order_puts_bases_first(images_dir):
    make_image(images_dir, "base", builder="debootstrap")
    make_image(images_dir, "app", after=["base"])
    make_image(images_dir, "tool", after=["app"])
    assert tb.build_order(tb.load_images()) == ["base", "app", "tool"]


def test_recipe_hash_changes_with_a_file_and_reaches_dependants(images_dir):
    base = make_image(images_dir, "base", builder="debootstrap", files={"prepare.sh": "echo 1\n"})
    make_image(images_dir, "app", after=["base"])
    make_image(images_dir, "other")
    before = tb.recipe_hashes(tb.load_images(), CFG)
    (base / "prepare.sh").write_text("echo 2\n")
    after = tb.recipe_hashes(tb.load_images(), CFG)
    assert after["base"] != before["base"]
    assert after["app"] != before["app"]
    assert after["other"] == before["other"]


def test_recipe_hash_is_stable(images_dir):
    make_image(images_dir, "app")
    assert tb.recipe_hashes(tb.load_images(), CFG) == tb.recipe_hashes(tb.load_images(), CFG)


def test_debootstrap_hash_follows_the_mirror(images_dir):
    make_image(images_dir, "base", builder="debootstrap")
    one = tb.recipe_hashes(tb.load_images(), CFG)
    other = tb.recipe_hashes(tb.load_images(), {"debian": {"suite": "trixie", "mirror": "x"}})
    assert one["base"] != other["base"]


def test_unknown_dependency_is_a_clear_error(images_dir):
    make_image(images_dir, "app", after=["nope"])
    with pytest.raises(tb.TestbedError, match="unknown image"):
        tb.build_order(tb.load_images())


def test_cycle_is_a_clear_error(images_dir):
    make_image(images_dir, "a", after=["b"])
    make_image(images_dir, "b", after=["a"])
    with pytest.raises(tb.TestbedError, match="cycle"):
        tb.build_order(tb.load_images())


def test_engine_that_cannot_start_stops_with_a_message(tmp_path):
    """Where no engine can start, the entry point says why and what to do: no traceback."""
    fake = tmp_path / "bin"
    fake.mkdir()
    # A docker client whose engine never answers, and a dockerd that dies at once.
    (fake / "docker").write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    (fake / "dockerd").write_text("#!/bin/sh\necho 'failed to start daemon: iptables not found' >&2\nexit 1\n")
    for tool in fake.iterdir():
        tool.chmod(0o755)
    env = {
        "PATH": f"{fake}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "KEEL_TESTBED_CACHE": str(tmp_path / "cache"),
    }
    proc = subprocess.run(
        [sys.executable, str(TOOL), "engine"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    if proc.stderr.count("needs root"):  # not root: refused before trying
        assert "what to do:" in proc.stderr
    else:
        assert "the Docker engine did not start (dockerd exited 1)" in proc.stderr
        assert "iptables not found" in proc.stderr
        assert "what to do:" in proc.stderr


def test_prepare_fills_a_scratch_context_not_the_recipe(images_dir, tmp_path, monkeypatch):
    """A dockerfile recipe's prepare script writes into the build context, never into the recipe."""
    folder = make_image(images_dir, "app", files={"Dockerfile": "FROM scratch\n", "fetch.sh": "echo jar > lib.jar\n"})
    (folder / "image.yml").write_text((folder / "image.yml").read_text() + "prepare: fetch.sh\n")
    seen = tmp_path / "seen"
    fake = tmp_path / "bin"
    fake.mkdir()
    # The last argument of `docker build` is the context: record what it holds.
    (fake / "docker").write_text(f'#!/bin/sh\nfor last; do :; done\nls "$last" > {seen}\n')
    (fake / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    monkeypatch.setattr(tb, "CACHE", tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    img = tb.load_images()["app"]
    tb.build_dockerfile(img, "abc")
    assert seen.read_text().split() == ["Dockerfile", "fetch.sh", "image.yml", "lib.jar"]
    assert not (folder / "lib.jar").exists()


def test_debian_mirror_is_read_from_deb822_sources(tmp_path):
    sources = tmp_path / "debian.sources"
    sources.write_text(
        "Types: deb\nURIs: http://archive.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://archive.example/debian/\nSuites: bookworm\n"
    )
    assert tb.debian_mirror([sources]) == "http://archive.example/debian"


def test_debian_mirror_is_read_from_one_line_sources(tmp_path):
    sources = tmp_path / "sources.list"
    sources.write_text(
        "# comment\ndeb [arch=amd64] http://other.example/x y\ndeb http://archive.example/debian bookworm main\n"
    )
    assert tb.debian_mirror([tmp_path / "missing", sources]) == "http://archive.example/debian"


def test_no_debian_mirror_is_a_clear_error(tmp_path):
    with pytest.raises(tb.TestbedError) as err:
        tb.debian_mirror([tmp_path / "missing"])
    assert "KEEL_TESTBED_DEBIAN_MIRROR" in err.value.hint
