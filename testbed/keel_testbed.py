"""Keel test bed: a Docker engine, host images and an image supply, from nothing.

The machine this runs on has no container registry and no Ansible Galaxy, and
may have no running Docker engine. This program makes everything the Molecule
scenarios need, idempotently, and says what it did:

  engine    start a Docker engine (install Debian's docker.io when missing)
  compose   build the Compose v2 CLI plugin from the Go module proxy
  images    build every image under testbed/images/, cached by recipe hash
  fabric    find the Hyperledger Fabric images (engine, archives, pull); never builds them
  supply    start the package cache, save image archives and fill the local registry mirror
  all       all of the above, in that order (the default)
  status    print what is there, change nothing

Results for Ansible are written to .testbed/supply.yml (variables the Molecule
scenarios load). Errors are reported as one message and a hint, exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import graphlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent
PROJECT = ROOT.parent
IMAGES_DIR = ROOT / "images"
SUPPLY_FILE = PROJECT / ".testbed" / "supply.yml"
RECIPE_LABEL = "org.keel.recipe"
CACHE = Path(os.environ.get("KEEL_TESTBED_CACHE", Path.home() / ".cache" / "keel-testbed"))


class TestbedError(Exception):
    """A failure the user can act on: what went wrong and what to do."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def say(msg: str) -> None:
    print(f"[testbed] {msg}", flush=True)


@contextlib.contextmanager
def phase(name: str):
    start = time.monotonic()
    say(f"{name} ...")
    yield
    say(f"{name}: done in {time.monotonic() - start:.1f}s")


def run(cmd, *, check=True, capture=False, env=None, input_bytes=None, cwd=None):
    """Run a command; on failure raise TestbedError with its last output lines."""
    try:
        proc = subprocess.run(
            cmd,
            check=False,
            capture_output=capture,
            env={**os.environ, **(env or {})},
            input=input_bytes,
            cwd=cwd,
        )
    except FileNotFoundError as exc:
        raise TestbedError(f"command not found: {cmd[0]}", "install it, or run `make testbed` as root") from exc
    if check and proc.returncode != 0:
        tail = ""
        if capture:
            tail = "\n".join((proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()[-15:])
        raise TestbedError(f"`{' '.join(map(str, cmd))}` exited {proc.returncode}\n{tail}".rstrip())
    return proc


def out(cmd) -> str:
    return run(cmd, capture=True).stdout.decode().strip()


APT_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))


def debian_mirror(sources=APT_SOURCES) -> str:
    """The Debian archive of this machine's apt sources (deb822 `URIs:` or a one-line `deb` entry)."""
    for path in sources:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            words = line.split()
            deb822 = words[:1] == ["URIs:"] and len(words) >= 2
            one_line = words[:1] == ["deb"] and len(words) >= 3 and not words[1].startswith("[")
            if not (deb822 or one_line):
                continue
            url = words[1].rstrip("/")
            if not url.endswith("-security"):
                return url
    raise TestbedError(
        "cannot tell which Debian archive this machine uses (no usable entry in its apt sources)",
        "set KEEL_TESTBED_DEBIAN_MIRROR to a Debian archive URL, or `debian.mirror` in testbed/config.yml",
    )


def load_config() -> dict:
    cfg = yaml.safe_load((ROOT / "config.yml").read_text())
    if os.environ.get("KEEL_TESTBED_DEBIAN_MIRROR"):
        cfg["debian"]["mirror"] = os.environ["KEEL_TESTBED_DEBIAN_MIRROR"]
    return cfg


def resolve_mirror(cfg: dict) -> None:
    if cfg["debian"]["mirror"] == "auto":
        cfg["debian"]["mirror"] = debian_mirror()


# --------------------------------------------------------------------- engine
def docker_info_ok() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise TestbedError(
            f"{what} needs root, and this runs as uid {os.geteuid()}",
            "run `make testbed` as root, or start a Docker engine yourself and make `docker info` work",
        )


def apt_install(*packages: str) -> None:
    require_root(f"installing {', '.join(packages)}")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], capture=True, env=env)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], capture=True, env=env)
    say(f"installed Debian package(s): {', '.join(packages)}")


def ensure_engine(timeout: float = 90.0) -> None:
    if docker_info_ok():
        say(f"engine: running (server {out(['docker', 'version', '--format', '{{.Server.Version}}'])})")
        return
    say("engine: `docker info` fails, starting one")
    if not shutil.which("dockerd"):
        apt_install("docker.io")
    require_root("starting dockerd")
    CACHE.mkdir(parents=True, exist_ok=True)
    log = CACHE / "dockerd.log"
    with log.open("ab") as fh:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv
            ["dockerd", "--pidfile", str(CACHE / "dockerd.pid")],
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if docker_info_ok():
            say(f"engine: started dockerd (pid {proc.pid}), log in {log}")
            return
        if proc.poll() is not None:
            break
        time.sleep(1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    if proc.poll() is None:
        proc.terminate()
    why = f"exited {proc.returncode}" if proc.returncode is not None else f"gave no answer in {timeout:.0f}s"
    raise TestbedError(
        f"the Docker engine did not start (dockerd {why}).\nlast lines of {log}:\n{tail}",
        "this machine cannot run containers as it is: check that it allows dockerd (root, cgroups, iptables, "
        "overlay filesystem), or point DOCKER_HOST at a working engine, then run `make testbed` again",
    )


# -------------------------------------------------------------------- compose
# Every test host is a systemd container (and most run an engine inside), all as
# root on this machine, and systemd, journald, udev and dockerd each hold inotify
# instances: 14 hosts side by side held 81 of the kernel's default 128 per user,
# and the suite now runs more Fabric hosts at once. The limit is raised for the
# machine, once.
INOTIFY_INSTANCES = 1024


def ensure_inotify(path: Path = Path("/proc/sys/fs/inotify/max_user_instances")) -> None:
    current = int(path.read_text().split()[0])
    if current >= INOTIFY_INSTANCES:
        say(f"inotify: {current} instances per user")
        return
    require_root("raising fs.inotify.max_user_instances")
    path.write_text(f"{INOTIFY_INSTANCES}\n")
    say(f"inotify: instances per user raised from {current} to {INOTIFY_INSTANCES} (test hosts run systemd)")


def go_install(package: str, version: str, target: Path, ldflags: str = "") -> None:
    """Build `package@version` from the Go module proxy into the file `target`.

    On this machine, never inside `docker build`: the host trusts the TLS of the
    way out, containers do not. `go install pkg@version` refuses a module whose
    go.mod has replace or exclude lines: pin a version without them.
    """
    if not shutil.which("go"):
        raise TestbedError(f"Go is needed to build {package} and is not on PATH", "install Go 1.21+ and run again")
    say(f"go: building {package}@{version} from the Go module proxy")
    with tempfile.TemporaryDirectory() as gobin:
        run(
            ["go", "install", "-trimpath", "-ldflags", f"-s -w {ldflags}".strip(), f"{package}@{version}"],
            env={"GOBIN": gobin, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"},
            capture=True,
            cwd=gobin,
        )
        # The binary is named after the package's last element (before a /vN suffix).
        built = [path for path in Path(gobin).iterdir() if path.is_file()]
        if len(built) != 1:
            raise TestbedError(f"`go install {package}@{version}` left {len(built)} files, not one binary")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(built[0]), target)
    target.chmod(0o755)


def compose_plugin_path(cfg: dict) -> Path:
    return CACHE / "compose" / cfg["compose"]["version"] / "docker-compose"


def ensure_compose(cfg: dict) -> Path:
    version = cfg["compose"]["version"]
    target = compose_plugin_path(cfg)
    if target.exists():
        got = run([str(target), "version", "--short"], capture=True, check=False).stdout.decode().strip()
        if got.lstrip("v") == version.lstrip("v"):
            say(f"compose: {version} cached at {target}")
            return target
    module = cfg["compose"]["module"]
    go_install(f"{module}/cmd", version, target, ldflags=f"-X {module}/internal.Version={version}")
    say(f"compose: built {out([str(target), 'version', '--short'])} at {target}")
    return target


# --------------------------------------------------------------------- images
def load_images() -> dict[str, dict]:
    images = {}
    for spec in sorted(IMAGES_DIR.glob("*/image.yml")):
        data = yaml.safe_load(spec.read_text())
        data["key"] = spec.parent.name
        data["dir"] = spec.parent
        data["ref"] = f"{data['name']}:{data['tag']}"
        images[data["key"]] = data
    return images


def build_order(images: dict[str, dict]) -> list[str]:
    graph = {key: set(img.get("after", [])) for key, img in images.items()}
    for key, deps in graph.items():
        unknown = deps - images.keys()
        if unknown:
            raise TestbedError(
                f"image {key} comes after unknown image(s) {sorted(unknown)}", "fix `after:` in its image.yml"
            )
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise TestbedError(
            f"images depend on each other in a cycle: {exc.args[1]}", "fix `after:` in image.yml"
        ) from exc


def input_files(img: dict) -> list[tuple[str, Path]]:
    """The project files an image's `inputs:` names, as (path from the project root, file).

    `inputs:` lists files or folders of the project that the image is built from
    but that live outside its recipe folder (an application's source). A folder
    brings its files without dotfiles and without node_modules (installed
    dependencies are the build's business, not part of the source).
    """
    files = []
    for entry in img.get("inputs", []):
        top = (PROJECT / entry).resolve()
        if not top.is_relative_to(PROJECT) or not top.exists():
            raise TestbedError(
                f"image {img['key']}: input {entry!r} is no file or folder of the project",
                "fix `inputs:` in its image.yml: paths relative to the project root",
            )
        found = [top] if top.is_file() else []
        for folder, dirs, names in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "node_modules")
            found += [Path(folder) / name for name in sorted(names) if not name.startswith(".")]
        files += [(path.relative_to(PROJECT).as_posix(), path) for path in found]
    return files


def recipe_hashes(images: dict[str, dict], cfg: dict) -> dict[str, str]:
    """Hash of every file in an image's folder and of its inputs, plus the hashes of the images it builds on."""
    hashes: dict[str, str] = {}
    for key in build_order(images):
        img = images[key]
        digest = hashlib.sha256()
        if img["builder"] == "debootstrap":
            digest.update(json.dumps(cfg["debian"], sort_keys=True).encode())
        for path in sorted(p for p in img["dir"].rglob("*") if p.is_file()):
            digest.update(path.relative_to(img["dir"]).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        for name, path in input_files(img):
            digest.update(b"input\0" + name.encode() + b"\0" + path.read_bytes() + b"\0")
        for dep in sorted(img.get("after", [])):
            digest.update(hashes[dep].encode())
        hashes[key] = digest.hexdigest()[:16]
    return hashes


def image_recipe(ref: str) -> str | None:
    proc = run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", ref], capture=True, check=False)
    if proc.returncode != 0:
        return None
    labels = json.loads(proc.stdout.decode() or "null") or {}
    return labels.get(RECIPE_LABEL)


def build_debootstrap(img: dict, recipe: str, cfg: dict) -> None:
    if not shutil.which("debootstrap"):
        apt_install("debootstrap")
    require_root("debootstrap")
    deb = cfg["debian"]
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        debs = CACHE / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        cmd = ["debootstrap", "--variant=minbase", f"--cache-dir={debs}"]
        if img.get("include"):
            cmd.append("--include=" + ",".join(img["include"]))
        run([*cmd, deb["suite"], str(rootfs), deb["mirror"]], capture=True)
        if img.get("prepare"):
            shutil.copy(img["dir"] / img["prepare"], rootfs / "keel-prepare.sh")
            run(["chroot", str(rootfs), "/bin/sh", "/keel-prepare.sh"], capture=True)
            (rootfs / "keel-prepare.sh").unlink()
        changes = [f"LABEL {RECIPE_LABEL}={recipe}", *img.get("changes", [])]
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        cmd = ["docker", "import"]
        for change in changes:
            cmd += ["--change", change]
        imp = subprocess.run([*cmd, "-", img["ref"]], stdin=tar.stdout, capture_output=True, check=False)
        tar.stdout.close()
        if tar.wait() != 0 or imp.returncode != 0:
            raise TestbedError(f"importing {img['ref']} failed: {imp.stderr.decode().strip()}")


def go_binary(entry: dict) -> Path:
    """The binary of one `go_install:` entry of an image recipe, built once per version.

    An entry names a Go `package`, its `version` and optional `ldflags` (a version
    stamp), all in image.yml, so the recipe hash follows them. The build is kept in
    the test-bed cache under its name, version and flags; older builds of the same
    name are removed (a server binary is large).
    """
    package, version, ldflags = entry["package"], entry["version"], entry.get("ldflags", "")
    parts = package.rstrip("/").split("/")
    name = parts[-2] if len(parts) > 1 and parts[-1][:1] == "v" and parts[-1][1:].isdigit() else parts[-1]
    stamp = hashlib.sha256(f"{package}@{version} {ldflags}".encode()).hexdigest()[:12]
    folder = CACHE / "go" / f"{name}-{stamp}"
    binary = folder / name
    if binary.exists():
        say(f"go: {package}@{version} cached at {binary}")
        return binary
    for old in (CACHE / "go").glob(f"{name}-" + "?" * len(stamp)):
        shutil.rmtree(old, ignore_errors=True)
    start = time.monotonic()
    go_install(package, version, binary, ldflags)
    say(f"go: built {binary} in {time.monotonic() - start:.0f}s ({binary.stat().st_size // 2**20} MiB)")
    return binary


def build_dockerfile(img: dict, recipe: str) -> None:
    """`docker build` the recipe folder; a `prepare:` script first fills a scratch copy of it.

    The files of the recipe's `inputs:` are copied into that scratch context at
    their paths from the project root (exactly the files the recipe hash covers).
    The script runs with the scratch build context as its working directory and
    KEEL_TESTBED_CACHE in its environment (for download caches such as a Maven
    repository). What it fetches is not part of the recipe hash: pin versions in
    the recipe's own files or its inputs (a lockfile) so that the hash changes when the content does.
    The Go binaries of its `go_install:` (built on this machine, see go_binary) are
    put at the top of the context first.
    """
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="context-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(img["dir"], context)
        for name, path in input_files(img):
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, context / name)
        for entry in img.get("go_install", []):
            binary = go_binary(entry)
            shutil.copy2(binary, context / binary.name)
        if img.get("prepare"):
            run(["sh", img["prepare"]], cwd=context, env={"KEEL_TESTBED_CACHE": str(CACHE)}, capture=True)
        run(
            ["docker", "build", "--quiet", "--label", f"{RECIPE_LABEL}={recipe}", "-t", img["ref"], str(context)],
            env={"DOCKER_BUILDKIT": "0"},
            capture=True,
        )


def ensure_images(cfg: dict, only: list[str] | None = None) -> dict[str, dict]:
    images = load_images()
    hashes = recipe_hashes(images, cfg)
    wanted = set(only or images)
    unknown = wanted - images.keys()
    if unknown:
        raise TestbedError(f"no such image recipe: {', '.join(sorted(unknown))}", f"known: {', '.join(sorted(images))}")
    for key in build_order(images):
        if key not in wanted and not any(key in images[w].get("after", []) for w in wanted):
            continue
        img, recipe = images[key], hashes[key]
        img["recipe"] = recipe
        if image_recipe(img["ref"]) == recipe:
            say(f"image {img['ref']}: cached (recipe {recipe})")
            continue
        start = time.monotonic()
        say(f"image {img['ref']}: building ({img['builder']}, recipe {recipe})")
        if img["builder"] == "debootstrap":
            build_debootstrap(img, recipe, cfg)
        elif img["builder"] == "dockerfile":
            CACHE.mkdir(parents=True, exist_ok=True)
            build_dockerfile(img, recipe)
        else:
            raise TestbedError(f"image {key}: unknown builder {img['builder']!r}", "use debootstrap or dockerfile")
        say(f"image {img['ref']}: built in {time.monotonic() - start:.0f}s")
    for key, img in images.items():
        img.setdefault("recipe", hashes[key])
    return images


# --------------------------------------------------------------------- fabric
# Keel never builds Hyperledger Fabric: the test bed only finds the official
# images by name (in the engine, in `docker save` archives, or by pulling them).
# Missing images never fail the test bed: the Makefile skips the fabric_*
# scenarios and prints why (FABRIC_SKIP_FILE).
FABRIC_ARCHIVES_ENV = "KEEL_FABRIC_IMAGE_ARCHIVES"
FABRIC_SKIP_FILE = SUPPLY_FILE.parent / "fabric-skip.txt"


def fabric_archive_dir(cfg: dict) -> Path:
    """KEEL_FABRIC_IMAGE_ARCHIVES, else `fabric.archives` of config.yml (relative: under the test-bed cache)."""
    return Path(os.environ.get(FABRIC_ARCHIVES_ENV) or CACHE / cfg["fabric"]["archives"]).expanduser()


def image_id(ref: str) -> str | None:
    proc = run(["docker", "image", "inspect", "--format", "{{.Id}}", ref], capture=True, check=False)
    return (proc.stdout.decode().strip() or None) if proc.returncode == 0 else None


def familiar_ref(ref: str) -> str:
    """A name as `docker images` shows it: no docker.io prefix, `:latest` where no tag is given."""
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
            break
    if ":" not in ref.rsplit("/", 1)[-1] and "@" not in ref:
        ref += ":latest"
    return ref


def archive_refs(path: Path) -> set[str] | None:
    """The image names a `docker save` archive holds (its manifest.json); None when that cannot be read."""
    try:
        with tarfile.open(path) as tar:
            member = tar.extractfile("manifest.json")
            manifest = json.load(member) if member else None
    except (tarfile.TarError, KeyError, OSError, ValueError):
        return None
    if not isinstance(manifest, list):
        return None
    return {familiar_ref(tag) for entry in manifest if isinstance(entry, dict) for tag in entry.get("RepoTags") or []}


def load_fabric_archives(folder: Path, missing: list[str], keep: dict[str, str]) -> None:
    """`docker load` the archives in `folder` that hold a missing image, or whose contents cannot be read.

    An archive whose manifest names none of the missing images is not loaded. A
    load also tags whatever else the archive holds: the engine's own images
    (`keep`, name to id) get their names back afterwards.
    """
    if not folder.is_dir():
        return
    wanted = set(missing)
    listed = [(path, archive_refs(path)) for path in sorted(folder.glob("*.tar"))]
    # Archives that say what they hold first; unreadable ones only if still needed.
    for path, refs in sorted(listed, key=lambda item: item[1] is None):
        if not wanted:
            break
        if refs is not None and not refs & wanted:
            say(f"fabric: {path.name} holds none of the missing images ({', '.join(sorted(refs)) or 'no names'})")
            continue
        proc = run(["docker", "load", "-i", str(path)], capture=True, check=False)
        text = (proc.stdout + proc.stderr).decode(errors="replace")
        if proc.returncode != 0:
            say(f"fabric: `docker load -i {path}` failed: {text.strip().splitlines()[-1:] or ['no output']}")
            continue
        got = {familiar_ref(line.split(":", 1)[1].strip()) for line in text.splitlines()
               if line.startswith("Loaded image:")}
        say(f"fabric: loaded {path.name} ({', '.join(sorted(got)) or 'untagged images only'})")
        wanted -= got
    for ref, old in keep.items():
        if image_id(ref) != old:
            run(["docker", "tag", old, ref], capture=True)
            say(f"fabric: {ref} tagged back to the engine's own image")


def pull_images(refs: list[str], budget: float) -> str:
    """`docker pull` each image, all within `budget` seconds; returns why the first failed pull failed."""
    deadline = time.monotonic() + budget
    why = ""
    for ref in refs:
        left = deadline - time.monotonic()
        if left <= 0:
            return why or f"the {budget:.0f}s allowed for pulls ran out"
        try:
            proc = subprocess.run(["docker", "pull", "--quiet", ref], capture_output=True, timeout=left, check=False)
        except subprocess.TimeoutExpired:
            return why or f"`docker pull {ref}` gave no answer in {budget:.0f}s"
        if proc.returncode == 0:
            say(f"fabric: {ref} pulled")
        elif not why:
            last = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            why = f"`docker pull {ref}`: {last[0]}"
    return why


def fabric_skip_reason(missing: list[str], folder: Path, why_no_pull: str) -> str:
    where = f"no archive in {folder} holds them" if folder.is_dir() else f"{folder} does not exist"
    return (
        f"Fabric scenarios skipped: the Hyperledger Fabric image(s) {', '.join(missing)} could not be found. "
        f"They are not in this Docker engine, {where}, and pulling them failed ({why_no_pull}). "
        "Keel never builds Fabric: supply the images under these names in one of three ways, then run "
        "`make testbed` again: (1) load them into this Docker engine (`docker load -i FILE`, or `docker tag` "
        "an image you have); (2) put `docker save` archives (*.tar) of them in the folder named by "
        f"{FABRIC_ARCHIVES_ENV} (now {folder}; default: fabric-images in the test-bed cache); "
        "(3) let the engine pull them from a registry (Docker Hub, or a mirror in the engine's registry-mirrors)."
    )


def ensure_fabric(cfg: dict) -> dict:
    """Find the Fabric images (engine, then archives, then a bounded pull); archive what is found for the hosts."""
    refs = list(cfg["fabric"]["images"])
    folder = fabric_archive_dir(cfg)
    in_engine = {ref: ident for ref in refs if (ident := image_id(ref))}
    for ref in in_engine:
        say(f"fabric: {ref} is in the engine")
    missing = [ref for ref in refs if ref not in in_engine]
    if missing:
        load_fabric_archives(folder, missing, in_engine)
        missing = [ref for ref in missing if not image_id(ref)]
    why_no_pull = ""
    if missing:
        why_no_pull = pull_images(missing, float(cfg["fabric"]["pull_timeout"]))
        missing = [ref for ref in missing if not image_id(ref)]
    found = [ref for ref in refs if ref not in missing]
    # Keyed by image id: an archive is written again only when the image changes.
    archives = {ref: save_archive(ref, image_id(ref).split(":")[-1][:12]) for ref in found}
    return {
        "available": not missing,
        "images": found,
        "archives": archives,
        "skip_reason": fabric_skip_reason(missing, folder, why_no_pull) if missing else "",
    }


def fabric_supply_vars(fabric: dict) -> dict:
    return {
        "keel_testbed_fabric_available": fabric["available"],
        "keel_testbed_fabric_images": fabric["images"],
        "keel_testbed_fabric_skip_reason": fabric["skip_reason"],
    }


def report_fabric(fabric: dict) -> None:
    """Say whether the Fabric scenarios can run; FABRIC_SKIP_FILE holds the reason for the Makefile, or is gone."""
    if fabric["available"]:
        FABRIC_SKIP_FILE.unlink(missing_ok=True)
        say(f"fabric: all images found ({', '.join(fabric['images'])})")
        return
    text = textwrap.fill(fabric["skip_reason"], width=100, break_long_words=False, break_on_hyphens=False)
    FABRIC_SKIP_FILE.parent.mkdir(parents=True, exist_ok=True)
    FABRIC_SKIP_FILE.write_text(text + "\n")
    say("fabric: images NOT available; the fabric_* Molecule scenarios will be skipped:")
    print(textwrap.indent(text, "    "), flush=True)


def update_supply_fabric(fabric: dict) -> None:
    """After the `fabric` action alone: replace the Fabric results in an existing supply.yml."""
    if not SUPPLY_FILE.exists():
        say(f"supply: no {SUPPLY_FILE.relative_to(PROJECT)} yet; `make testbed` writes it with these results")
        return
    supply = yaml.safe_load(SUPPLY_FILE.read_text()) or {}
    old = set(supply.get("keel_testbed_fabric_images") or [])
    archives = {ref: path for ref, path in (supply.get("keel_testbed_archives") or {}).items() if ref not in old}
    supply.update(fabric_supply_vars(fabric), keel_testbed_archives={**archives, **fabric["archives"]})
    write_supply(supply)


# --------------------------------------------------------------------- supply
def ensure_network(name: str) -> None:
    if run(["docker", "network", "inspect", name], capture=True, check=False).returncode != 0:
        run(["docker", "network", "create", name], capture=True)
        say(f"network {name}: created")


def answers_http(url: str) -> bool:
    """True when something serves HTTP at `url` (any status: the service is up)."""
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def ensure_service(svc: dict, ref: str, network: str, inner_port: int, volume: str, ready_path: str) -> None:
    """Run `svc['container']` from image `ref` on `network`, published on 127.0.0.1:`svc['port']`,
    with its data in the named volume `volume`; (re)start it when its image changed; wait until
    it answers HTTP at `ready_path`."""
    name, port = svc["container"], svc["port"]
    ensure_network(network)
    want = out(["docker", "image", "inspect", "--format", "{{.Id}}", ref])
    proc = run(["docker", "inspect", "--format", "{{.Image}} {{.State.Running}}", name], capture=True, check=False)
    current = proc.stdout.decode().split() if proc.returncode == 0 else []
    if current == [want, "true"]:
        say(f"{name}: running")
    else:
        if current:
            run(["docker", "rm", "-f", name], capture=True)
        run(
            [
                "docker", "run", "-d", "--name", name, "--network", network, "--restart", "unless-stopped",
                "-p", f"127.0.0.1:{port}:{inner_port}", "-v", f"{volume}:{svc['data']}", ref,
            ],
            capture=True,
        )
        say(f"{name}: started on network {network}, 127.0.0.1:{port}")
    for _attempt in range(30):
        if answers_http(f"http://127.0.0.1:{port}{ready_path}"):
            return
        time.sleep(1)
    raise TestbedError(f"{name} does not answer on 127.0.0.1:{port}", f"see `docker logs {name}`")


def ensure_registry(cfg: dict, images: dict[str, dict]) -> None:
    reg = cfg["registry"]
    ensure_service({**reg, "data": "/var/lib/docker-registry"}, images["registry"]["ref"], reg["network"],
                   5000, "keel-registry-data", "/v2/")


def ensure_apt_cache(cfg: dict, images: dict[str, dict]) -> str:
    """Start the package cache; returns the proxy address hosts on the test-bed network use."""
    cache = cfg["apt_cache"]
    ensure_service({**cache, "data": "/var/cache/apt-cacher-ng"}, images["apt-cache"]["ref"],
                   cfg["registry"]["network"], 3142, "keel-apt-cache-data", "/acng-report.html")
    return f"http://{cache['container']}:3142"


def save_archive(ref: str, version: str) -> str:
    """A `docker save` archive of `ref` in the archive cache, written again only when `version` changes."""
    slug = ref.replace("/", "_").replace(":", "_")
    path = CACHE / "archives" / f"{slug}-{version}.tar"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(f"{slug}-*.tar"):
            old.unlink()
        run(["docker", "save", "-o", f"{path}.part", ref], capture=True)
        os.replace(f"{path}.part", path)
        say(f"archive {path.name}: written ({path.stat().st_size // 2**20} MiB)")
    else:
        say(f"archive {path.name}: cached")
    return str(path)


def write_supply(supply: dict) -> None:
    SUPPLY_FILE.parent.mkdir(parents=True, exist_ok=True)
    header = "---\n# Written by testbed/keel_testbed.py; do not edit.\n"
    SUPPLY_FILE.write_text(header + yaml.safe_dump(supply, sort_keys=True))
    say(f"supply: variables for Molecule in {SUPPLY_FILE.relative_to(PROJECT)}")


def ensure_supply(cfg: dict, images: dict[str, dict], compose: Path, fabric: dict) -> None:
    reg = cfg["registry"]
    ensure_registry(cfg, images)
    apt_proxy = ensure_apt_cache(cfg, images)
    archives = dict(fabric["archives"])
    mirrored = []
    for img in images.values():
        supply = img.get("supply", [])
        if "archive" in supply:
            archives[img["ref"]] = save_archive(img["ref"], img["recipe"])
        if "registry" in supply:
            local = f"127.0.0.1:{reg['port']}/{img['ref']}"
            run(["docker", "tag", img["ref"], local], capture=True)
            run(["docker", "push", "--quiet", local], capture=True)
            mirrored.append(img["ref"])
            say(f"registry: {img['ref']} pushed")
    supply = {
        "keel_testbed_network": reg["network"],
        "keel_testbed_registry_mirror": f"http://{reg['container']}:5000",
        "keel_testbed_registry_host": f"{reg['container']}:5000",
        "keel_testbed_apt_proxy": apt_proxy,
        "keel_testbed_compose_plugin": str(compose),
        "keel_testbed_compose_version": cfg["compose"]["version"],
        "keel_testbed_archives": archives,
        "keel_testbed_mirrored": sorted(mirrored),
        "keel_testbed_images": {key: img["ref"] for key, img in sorted(images.items())},
        **fabric_supply_vars(fabric),
    }
    write_supply(supply)


def status(cfg: dict) -> None:
    say(f"engine: {'running' if docker_info_ok() else 'NOT running'}")
    path = compose_plugin_path(cfg)
    say(f"compose {cfg['compose']['version']}: {'built' if path.exists() else 'missing'}")
    if docker_info_ok():
        images = load_images()
        for key, recipe in recipe_hashes(images, cfg).items():
            state = "current" if image_recipe(images[key]["ref"]) == recipe else "missing or stale"
            say(f"image {images[key]['ref']}: {state}")
        for ref in cfg["fabric"]["images"]:
            say(f"fabric {ref}: {'in the engine' if image_id(ref) else 'missing'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", nargs="?", default="all",
                        choices=["all", "engine", "compose", "images", "fabric", "supply", "status"])
    parser.add_argument("--image", action="append", help="build only this image recipe (and what it needs)")
    args = parser.parse_args(argv)
    cfg = load_config()
    try:
        resolve_mirror(cfg)
        if args.action == "status":
            status(cfg)
            return 0
        with phase("engine"):
            ensure_engine()
            ensure_inotify()
        if args.action == "engine":
            return 0
        if args.action in ("all", "compose", "supply"):
            with phase("compose plugin"):
                compose = ensure_compose(cfg)
        if args.action in ("all", "images", "supply"):
            with phase("images"):
                images = ensure_images(cfg, args.image)
        if args.action in ("all", "fabric", "supply"):
            with phase("fabric images"):
                fabric = ensure_fabric(cfg)
                report_fabric(fabric)
            if args.action == "fabric":
                update_supply_fabric(fabric)
        if args.action in ("all", "supply"):
            with phase("image supply"):
                ensure_supply(cfg, images, compose, fabric)
    except TestbedError as exc:
        print(f"[testbed] ERROR: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"[testbed] what to do: {exc.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("[testbed] interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
