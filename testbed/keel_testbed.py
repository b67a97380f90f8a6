"""Keel test bed: a Docker engine, host images and an image supply, from nothing.

The machine this runs on has no container registry and no Ansible Galaxy, and
may have no running Docker engine. This program makes everything the Molecule
scenarios need, idempotently, and says what it did:

  engine    start a Docker engine (install Debian's docker.io when missing)
  compose   build the Compose v2 CLI plugin from the Go module proxy
  images    build every image under testbed/images/, cached by recipe hash
  supply    save image archives and fill the local registry mirror
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
import tempfile
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
    if not shutil.which("go"):
        raise TestbedError(
            "Go is needed to build the Compose plugin and is not on PATH", "install Go 1.21+ and run again"
        )
    module = cfg["compose"]["module"]
    say(f"compose: building {module}/cmd@{version} from the Go module proxy")
    with tempfile.TemporaryDirectory() as gobin:
        run(
            [
                "go", "install", "-trimpath",
                "-ldflags", f"-s -w -X {module}/internal.Version={version}",
                f"{module}/cmd@{version}",
            ],
            env={"GOBIN": gobin, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"},
            capture=True,
            cwd=gobin,
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(Path(gobin) / "cmd"), target)
    target.chmod(0o755)
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


def recipe_hashes(images: dict[str, dict], cfg: dict) -> dict[str, str]:
    """Hash of every file in an image's folder, plus the hashes of the images it builds on."""
    hashes: dict[str, str] = {}
    for key in build_order(images):
        img = images[key]
        digest = hashlib.sha256()
        if img["builder"] == "debootstrap":
            digest.update(json.dumps(cfg["debian"], sort_keys=True).encode())
        for path in sorted(p for p in img["dir"].rglob("*") if p.is_file()):
            digest.update(path.relative_to(img["dir"]).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
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


def build_dockerfile(img: dict, recipe: str) -> None:
    """`docker build` the recipe folder; a `prepare:` script first fills a scratch copy of it.

    The script runs with the scratch build context as its working directory and
    KEEL_TESTBED_CACHE in its environment (for download caches such as a Maven
    repository). What it fetches is not part of the recipe hash: pin versions in
    the recipe's own files so that the hash changes when the content does.
    """
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="context-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(img["dir"], context)
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


# --------------------------------------------------------------------- supply
def ensure_network(name: str) -> None:
    if run(["docker", "network", "inspect", name], capture=True, check=False).returncode != 0:
        run(["docker", "network", "create", name], capture=True)
        say(f"network {name}: created")


def registry_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as resp:  # noqa: S310 - loopback
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def ensure_registry(cfg: dict, images: dict[str, dict]) -> None:
    reg = cfg["registry"]
    ensure_network(reg["network"])
    ref = images["registry"]["ref"]
    want = out(["docker", "image", "inspect", "--format", "{{.Id}}", ref])
    proc = run(
        ["docker", "inspect", "--format", "{{.Image}} {{.State.Running}}", reg["container"]], capture=True, check=False
    )
    current = proc.stdout.decode().split() if proc.returncode == 0 else []
    if current == [want, "true"]:
        say(f"registry {reg['container']}: running")
    else:
        if current:
            run(["docker", "rm", "-f", reg["container"]], capture=True)
        run(
            [
                "docker", "run", "-d", "--name", reg["container"], "--network", reg["network"],
                "--restart", "unless-stopped", "-p", f"127.0.0.1:{reg['port']}:5000",
                "-v", "keel-registry-data:/var/lib/docker-registry", ref,
            ],
            capture=True,
        )
        say(f"registry {reg['container']}: started on network {reg['network']}, 127.0.0.1:{reg['port']}")
    for _attempt in range(30):
        if registry_ready(reg["port"]):
            return
        time.sleep(1)
    raise TestbedError(f"registry {reg['container']} does not answer on 127.0.0.1:{reg['port']}",
                       f"see `docker logs {reg['container']}`")


def ensure_supply(cfg: dict, images: dict[str, dict], compose: Path) -> None:
    reg = cfg["registry"]
    ensure_registry(cfg, images)
    archives = {}
    mirrored = []
    for img in images.values():
        supply = img.get("supply", [])
        if "archive" in supply:
            slug = img["ref"].replace("/", "_").replace(":", "_")
            path = CACHE / "archives" / f"{slug}-{img['recipe']}.tar"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                for old in path.parent.glob(f"{slug}-*.tar"):
                    old.unlink()
                run(["docker", "save", "-o", f"{path}.part", img["ref"]], capture=True)
                os.replace(f"{path}.part", path)
                say(f"archive {path.name}: written ({path.stat().st_size // 2**20} MiB)")
            else:
                say(f"archive {path.name}: cached")
            archives[img["ref"]] = str(path)
        if "registry" in supply:
            local = f"127.0.0.1:{reg['port']}/{img['ref']}"
            run(["docker", "tag", img["ref"], local], capture=True)
            run(["docker", "push", "--quiet", local], capture=True)
            mirrored.append(img["ref"])
            say(f"registry: {img['ref']} pushed")
    SUPPLY_FILE.parent.mkdir(parents=True, exist_ok=True)
    supply = {
        "keel_testbed_network": reg["network"],
        "keel_testbed_registry_mirror": f"http://{reg['container']}:5000",
        "keel_testbed_registry_host": f"{reg['container']}:5000",
        "keel_testbed_compose_plugin": str(compose),
        "keel_testbed_compose_version": cfg["compose"]["version"],
        "keel_testbed_archives": archives,
        "keel_testbed_mirrored": sorted(mirrored),
        "keel_testbed_images": {key: img["ref"] for key, img in sorted(images.items())},
    }
    header = "---\n# Written by testbed/keel_testbed.py; do not edit.\n"
    SUPPLY_FILE.write_text(header + yaml.safe_dump(supply, sort_keys=True))
    say(f"supply: variables for Molecule in {SUPPLY_FILE.relative_to(PROJECT)}")


def status(cfg: dict) -> None:
    say(f"engine: {'running' if docker_info_ok() else 'NOT running'}")
    path = compose_plugin_path(cfg)
    say(f"compose {cfg['compose']['version']}: {'built' if path.exists() else 'missing'}")
    if docker_info_ok():
        images = load_images()
        for key, recipe in recipe_hashes(images, cfg).items():
            state = "current" if image_recipe(images[key]["ref"]) == recipe else "missing or stale"
            say(f"image {images[key]['ref']}: {state}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", nargs="?", default="all",
                        choices=["all", "engine", "compose", "images", "supply", "status"])
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
        if args.action == "engine":
            return 0
        if args.action in ("all", "compose", "supply"):
            with phase("compose plugin"):
                compose = ensure_compose(cfg)
        if args.action in ("all", "images", "supply"):
            with phase("images"):
                images = ensure_images(cfg, args.image)
        if args.action in ("all", "supply"):
            with phase("image supply"):
                ensure_supply(cfg, images, compose)
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
