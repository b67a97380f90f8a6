"""The test-bed tool: recipe hashes, build order, finding the Fabric images, and its error messages."""

import importlib.util
import io
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml

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


# ----------------------------------------------------------- Fabric images
# A fake `docker` on PATH keeps the engine's images (name -> id) in a JSON file:
# `image inspect`, `load` (reads the archive's manifest.json), `pull` (fails as
# on a machine without a registry, after `pull_sleep` seconds), `save`, `tag`.
FAKE_DOCKER = """#!{python}
import json, sys, tarfile, time
state_file = {state!r}
with open(state_file) as fh:
    state = json.load(fh)
args = sys.argv[1:]
state["calls"].append(args)
rc = 0
if args[:2] == ["image", "inspect"]:
    if args[-1] in state["images"]:
        print(state["images"][args[-1]])
    else:
        print("Error: No such image: " + args[-1], file=sys.stderr)
        rc = 1
elif args[0] == "load":
    with tarfile.open(args[-1]) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    for entry in manifest:
        for tag in entry["RepoTags"]:
            tag = tag.removeprefix("docker.io/")  # as the engine names it
            state["images"][tag] = "sha256:" + entry["Config"]
            print("Loaded image: " + tag)
elif args[0] == "pull":
    time.sleep(state["pull_sleep"])
    print("Error response from daemon: Get https://registry-1.docker.io/v2/: no such host", file=sys.stderr)
    rc = 1
elif args[0] == "save":
    with open(args[args.index("-o") + 1], "w") as fh:
        fh.write(args[-1])
elif args[0] == "tag":
    state["images"][args[2]] = state["images"].get(args[1], args[1])
with open(state_file, "w") as fh:
    json.dump(state, fh)
sys.exit(rc)
"""

PEER, ORDERER, TOOLS = "hyperledger/fabric-peer:2.5", "hyperledger/fabric-orderer:2.5", "hyperledger/fabric-tools:2.5"
FABRIC_CFG = {"fabric": {"images": [PEER, ORDERER, TOOLS], "archives": "fabric-images", "pull_timeout": 60}}


class FakeEngine:
    def __init__(self, state_file):
        self.state_file = state_file

    @property
    def state(self):
        return json.loads(self.state_file.read_text())

    def calls(self, verb):
        return [call for call in self.state["calls"] if call[0] == verb]


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """A fake engine holding `images`; the test bed's cache and Fabric archive folder under tmp_path."""

    def make(images=None, pull_sleep=0):
        state = tmp_path / "engine.json"
        state.write_text(json.dumps({"images": images or {}, "calls": [], "pull_sleep": pull_sleep}))
        fake = tmp_path / "bin"
        fake.mkdir()
        (fake / "docker").write_text(FAKE_DOCKER.format(python=sys.executable, state=str(state)))
        (fake / "docker").chmod(0o755)
        monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
        monkeypatch.delenv("KEEL_FABRIC_IMAGE_ARCHIVES", raising=False)
        monkeypatch.setattr(tb, "CACHE", tmp_path / "cache")
        return FakeEngine(state)

    return make


def write_archive(path, refs):
    """A `docker save`-style archive: manifest.json naming `refs` (the fake engine loads only that)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = json.dumps([{"Config": f"{abs(hash(ref)):x}", "RepoTags": [ref], "Layers": []} for ref in refs]).encode()
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))


def test_fabric_images_in_the_engine_are_used_and_archived(engine, tmp_path):
    fake = engine({PEER: "sha256:aaaaaaaaaaaaffff", ORDERER: "sha256:bbbbbbbbbbbb", TOOLS: "sha256:cccccccccccc"})
    fabric = tb.ensure_fabric(FABRIC_CFG)
    assert fabric["available"] is True
    assert fabric["images"] == [PEER, ORDERER, TOOLS]
    assert fabric["skip_reason"] == ""
    # Archives for the hosts' inner engines, named by image id.
    archive = tmp_path / "cache" / "archives" / "hyperledger_fabric-peer_2.5-aaaaaaaaaaaa.tar"
    assert fabric["archives"][PEER] == str(archive)
    assert archive.exists()
    assert not fake.calls("load")
    assert not fake.calls("pull")
    vars_ = tb.fabric_supply_vars(fabric)
    assert vars_["keel_testbed_fabric_available"] is True
    assert vars_["keel_testbed_fabric_images"] == [PEER, ORDERER, TOOLS]


def test_fabric_archive_is_written_again_only_when_the_image_changes(engine):
    fake = engine({PEER: "sha256:aaaaaaaaaaaa", ORDERER: "sha256:bbbbbbbbbbbb", TOOLS: "sha256:cccccccccccc"})
    first = tb.ensure_fabric(FABRIC_CFG)["archives"][PEER]
    tb.ensure_fabric(FABRIC_CFG)
    assert len(fake.calls("save")) == 3
    state = fake.state
    state["images"][PEER] = "sha256:dddddddddddd"
    fake.state_file.write_text(json.dumps(state))
    second = tb.ensure_fabric(FABRIC_CFG)["archives"][PEER]
    assert len(fake.calls("save")) == 4
    assert second != first
    assert not Path(first).exists()


def test_fabric_archives_load_only_what_is_missing(engine, tmp_path, monkeypatch):
    fake = engine({PEER: "sha256:aaaaaaaaaaaa"})
    folder = tmp_path / "elsewhere"
    monkeypatch.setenv("KEEL_FABRIC_IMAGE_ARCHIVES", str(folder))
    write_archive(folder / "orderer-and-tools.tar", [ORDERER, "docker.io/hyperledger/fabric-tools:2.5"])
    write_archive(folder / "unrelated.tar", ["keel-testbed/nginx:1.22"])
    # Also holds the peer: loading it must not replace the engine's own peer image.
    write_archive(folder / "peer-again.tar", [PEER])
    (folder / "notes.txt").write_text("not an archive\n")
    fabric = tb.ensure_fabric(FABRIC_CFG)
    assert fabric["available"] is True
    assert [call[-1] for call in fake.calls("load")] == [str(folder / "orderer-and-tools.tar")]
    assert not fake.calls("pull")
    assert fake.state["images"][PEER] == "sha256:aaaaaaaaaaaa"


def test_loading_an_archive_keeps_the_engines_own_images(engine, tmp_path):
    fake = engine({PEER: "sha256:aaaaaaaaaaaa"})
    write_archive(tmp_path / "cache" / "fabric-images" / "all.tar", [PEER, ORDERER, TOOLS])
    assert tb.ensure_fabric(FABRIC_CFG)["available"] is True
    assert fake.calls("load")
    assert fake.state["images"][PEER] == "sha256:aaaaaaaaaaaa"


def test_missing_fabric_images_are_unavailable_with_a_paragraph(engine, tmp_path):
    fake = engine({PEER: "sha256:aaaaaaaaaaaa"})
    fabric = tb.ensure_fabric(FABRIC_CFG)
    assert fabric["available"] is False
    assert fabric["images"] == [PEER]
    assert [call[-1] for call in fake.calls("pull")] == [ORDERER, TOOLS]
    reason = fabric["skip_reason"]
    assert "\n" not in reason
    assert f"{ORDERER}, {TOOLS}" in reason
    assert PEER not in reason
    assert "no such host" in reason
    # The three ways to supply them.
    assert "load them into this Docker engine" in reason
    assert "KEEL_FABRIC_IMAGE_ARCHIVES" in reason
    assert str(tmp_path / "cache" / "fabric-images") in reason
    assert "pull them from a registry" in reason
    assert tb.fabric_supply_vars(fabric)["keel_testbed_fabric_skip_reason"] == reason


def test_pulling_fabric_images_cannot_hang(engine):
    engine(pull_sleep=30)
    cfg = {"fabric": {**FABRIC_CFG["fabric"], "pull_timeout": 1}}
    start = time.monotonic()
    fabric = tb.ensure_fabric(cfg)
    assert time.monotonic() - start < 15
    assert fabric["available"] is False
    assert "gave no answer in 1s" in fabric["skip_reason"]


def test_fabric_skip_reason_goes_to_a_file_for_the_makefile(engine, tmp_path, monkeypatch, capsys):
    engine()
    monkeypatch.setattr(tb, "FABRIC_SKIP_FILE", tmp_path / "fabric-skip.txt")
    fabric = tb.ensure_fabric(FABRIC_CFG)
    tb.report_fabric(fabric)
    assert " ".join(tb.FABRIC_SKIP_FILE.read_text().split()) == fabric["skip_reason"]
    assert "will be skipped" in capsys.readouterr().out
    tb.report_fabric({"available": True, "images": [PEER], "archives": {}, "skip_reason": ""})
    assert not tb.FABRIC_SKIP_FILE.exists()


def test_fabric_results_replace_old_ones_in_supply_yml(tmp_path, monkeypatch):
    monkeypatch.setattr(tb, "SUPPLY_FILE", tmp_path / ".testbed" / "supply.yml")
    monkeypatch.setattr(tb, "PROJECT", tmp_path)
    tb.write_supply({
        "keel_testbed_archives": {"keel-testbed/nginx:1.22": "/a/nginx.tar", PEER: "/a/old-peer.tar"},
        "keel_testbed_fabric_images": [PEER],
        "keel_testbed_network": "keel-testbed",
    })
    tb.update_supply_fabric({"available": False, "images": [], "archives": {}, "skip_reason": "why"})
    supply = yaml.safe_load(tb.SUPPLY_FILE.read_text())
    assert supply["keel_testbed_archives"] == {"keel-testbed/nginx:1.22": "/a/nginx.tar"}
    assert supply["keel_testbed_fabric_available"] is False
    assert supply["keel_testbed_fabric_skip_reason"] == "why"
    assert supply["keel_testbed_network"] == "keel-testbed"


# ----------------------------------------------------------- recipe inputs
@pytest.fixture
def project(images_dir, tmp_path, monkeypatch):
    """A project root with an application folder `app/` that an image takes as its input."""
    root = tmp_path / "project"
    monkeypatch.setattr(tb, "PROJECT", root)
    for name, text in {
        "app/index.js": "v1\n",
        "app/lib/contract.js": "v1\n",
        "app/node_modules/dep/index.js": "v1\n",
        "app/.eslintrc": "v1\n",
        "app/.cache/x": "v1\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    folder = make_image(images_dir, "app")
    (folder / "image.yml").write_text((folder / "image.yml").read_text() + "inputs: [app]\n")
    return root


def test_inputs_are_the_source_files_without_dotfiles_and_node_modules(project):
    names = [name for name, _path in tb.input_files(tb.load_images()["app"])]
    assert names == ["app/index.js", "app/lib/contract.js"]


@pytest.mark.parametrize(("changed", "rebuilds"), [
    ("app/lib/contract.js", True),
    ("app/node_modules/dep/index.js", False),
    ("app/.eslintrc", False),
])
def test_recipe_hash_follows_the_inputs(project, changed, rebuilds):
    before = tb.recipe_hashes(tb.load_images(), CFG)
    (project / changed).write_text("v2\n")
    after = tb.recipe_hashes(tb.load_images(), CFG)
    assert (after["app"] != before["app"]) is rebuilds


def test_inputs_reach_the_prepare_script_in_the_build_context(project, images_dir, tmp_path, monkeypatch):
    folder = images_dir / "app"
    (folder / "prep.sh").write_text("ls app > seen-by-prepare\n")
    (folder / "image.yml").write_text((folder / "image.yml").read_text() + "prepare: prep.sh\n")
    monkeypatch.setattr(tb, "CACHE", tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    real_run, seen = tb.run, {}

    def run(cmd, **kwargs):  # `docker build` only records its context
        if cmd[:2] != ["docker", "build"]:
            return real_run(cmd, **kwargs)
        context = Path(cmd[-1])
        seen["context"] = sorted(p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file())
        seen["prepare"] = (context / "seen-by-prepare").read_text().split()
        return None

    monkeypatch.setattr(tb, "run", run)
    tb.build_dockerfile(tb.load_images()["app"], "abc")
    assert seen["prepare"] == ["index.js", "lib"]
    assert seen["context"] == [
        "Dockerfile", "app/index.js", "app/lib/contract.js", "image.yml", "prep.sh", "seen-by-prepare",
    ]


@pytest.mark.parametrize("entry", ["missing", "../outside"])
def test_an_input_outside_the_project_is_a_clear_error(project, images_dir, entry):
    (project.parent / "outside").mkdir()
    spec_file = images_dir / "app" / "image.yml"
    spec_file.write_text(spec_file.read_text().replace("inputs: [app]", f"inputs: [{entry}]"))
    with pytest.raises(tb.TestbedError, match=f"input '{entry}' is no file or folder of the project"):
        tb.recipe_hashes(tb.load_images(), CFG)


def test_the_chaincode_image_follows_the_chaincode_source():
    names = [name for name, _path in tb.input_files(tb.load_images()["thermotrace-chaincode"])]
    assert "chaincode/thermotrace/package-lock.json" in names
    assert "chaincode/thermotrace/lib/thermotrace-contract.js" in names
    assert not [name for name in names if "node_modules" in name]


@pytest.fixture
def fake_go(tmp_path, monkeypatch):
    """A `go` on PATH that logs its arguments and "builds" a binary named after the package into GOBIN."""
    fake = tmp_path / "gobin-fake"
    fake.mkdir()
    calls = tmp_path / "go-calls"
    (fake / "go").write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {calls}\n'
        'for last; do :; done\n'
        'name=${last%@*}; name=${name##*/}; case $name in v[0-9]*) name=$(basename "$(dirname "${last%@*}")");; esac\n'
        'printf "binary of %s" "$last" > "$GOBIN/$name"\n'
    )
    (fake / "go").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    monkeypatch.setattr(tb, "CACHE", tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    return calls


def test_a_go_binary_is_built_once_per_version_and_flags(fake_go):
    entry = {"package": "example.org/srv/cmd/server", "version": "v1.2.3", "ldflags": "-X main.Version=1.2.3"}
    binary = tb.go_binary(entry)
    assert binary.name == "server"
    assert binary.read_text() == "binary of example.org/srv/cmd/server@v1.2.3"
    assert tb.go_binary(entry) == binary
    calls = fake_go.read_text().splitlines()
    assert calls == ["install -trimpath -ldflags -s -w -X main.Version=1.2.3 example.org/srv/cmd/server@v1.2.3"]
    # Another version replaces the cached build.
    newer = tb.go_binary({**entry, "version": "v1.2.4"})
    assert newer != binary and newer.exists() and not binary.exists()


def test_a_go_binary_of_a_major_version_module_is_named_after_the_command(fake_go):
    assert tb.go_binary({"package": "example.org/tool/v2", "version": "v2.0.0"}).name == "tool"


def test_go_binaries_reach_the_build_context(images_dir, fake_go, monkeypatch):
    folder = make_image(images_dir, "srv", files={"Dockerfile": "FROM scratch\nCOPY server /\n"})
    (folder / "image.yml").write_text((folder / "image.yml").read_text()
                                      + "go_install:\n  - package: example.org/srv/cmd/server\n    version: v1\n")
    real_run, seen = tb.run, {}

    def run(cmd, **kwargs):  # `docker build` only records its context
        if cmd[:2] != ["docker", "build"]:
            return real_run(cmd, **kwargs)
        seen["server"] = (Path(cmd[-1]) / "server").read_text()
        return None

    monkeypatch.setattr(tb, "run", run)
    tb.build_dockerfile(tb.load_images()["srv"], "abc")
    assert seen["server"] == "binary of example.org/srv/cmd/server@v1"
    assert not (folder / "server").exists()


def test_the_minio_recipe_pins_a_version_and_stamps_it():
    entry = tb.load_images()["minio"]["go_install"][0]
    assert entry["package"] == "github.com/minio/minio"
    # A pseudo-version: MinIO tags no module versions; its commit is stamped into `minio --version`.
    commit = entry["version"].rsplit("-", 1)[-1]
    assert f"cmd.CommitID={commit}" in entry["ldflags"]
