"""The execution environment definitions: pins in step with the repository, and ansible-builder's view.

`ansible-builder create` writes the build context of execution-environment.yml (no network, no image
build), and `ansible-builder introspect` reads what keel.infra asks of an execution environment from
meta/execution-environment.yml: no development tool from the root requirements.txt.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]

DEV_TOOLS = ("molecule", "ruff", "pytest", "ansible-lint", "yamllint", "testinfra", "antsibull", "galaxy-importer",
             "ssh-audit", "docker")


def load(path):
    return yaml.safe_load(path.read_text())


def pins():
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return dict(line.split("==", 1) for line in lines if "==" in line)


@pytest.fixture(scope="module")
def builder():
    if not shutil.which("ansible-builder"):
        pytest.skip("ansible-builder is not on PATH")
    return shutil.which("ansible-builder")


def test_ansible_core_and_runner_are_pinned_as_in_constraints():
    dependencies = load(ROOT / "execution-environment.yml")["dependencies"]
    for name in ("ansible_core", "ansible_runner"):
        package = name.replace("_", "-")
        assert dependencies[name]["package_pip"] == "%s==%s" % (package, pins()[package])


def test_collections_are_keel_infra_and_its_dependencies():
    galaxy = load(ROOT / "galaxy.yml")
    wanted = {"%s.%s" % (galaxy["namespace"], galaxy["name"]): galaxy["version"], **galaxy["dependencies"]}
    listed = load(ROOT / "execution-environment.yml")["dependencies"]["galaxy"]["collections"]
    assert {c["name"]: c["version"] for c in listed} == wanted


def test_create_writes_the_build_context_offline(builder, tmp_path):
    context = tmp_path / "context"
    subprocess.run([builder, "create", "-f", str(ROOT / "execution-environment.yml"), "-c", str(context),
                    "--output-filename", "Containerfile"], check=True, capture_output=True, text=True)
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-core==%s" % pins()["ansible-core"] in containerfile
    assert "ansible-runner==%s" % pins()["ansible-runner"] in containerfile
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert "keel.infra" in [c["name"] for c in requirements["collections"]]


def test_introspect_lists_what_meta_declares_and_no_development_tool(builder, tmp_path):
    (tmp_path / "ansible_collections" / "keel").mkdir(parents=True)
    (tmp_path / "ansible_collections" / "keel" / "infra").symlink_to(ROOT)
    out = subprocess.run([builder, "introspect", str(tmp_path)], check=True, capture_output=True, text=True).stdout
    found = yaml.safe_load(out)
    python = [re.split(r"\s+#", line)[0] for line in found["python"]]
    system = [re.split(r"\s+#", line)[0] for line in found["system"]]
    assert [p for p in python + system if any(tool in p.lower() for tool in DEV_TOOLS)] == []
    declared = load(ROOT / "meta" / "execution-environment.yml")["dependencies"]
    for kind, listed in (("python", python), ("system", system)):
        lines = (ROOT / declared[kind]).read_text().splitlines()
        assert listed == [line.strip() for line in lines if line.strip() and not line.startswith("#")]
