"""keel.infra.compose_files on a scratch folder, with a fake `docker compose config`."""

import grp
import json
import os
import pwd
import stat

import pytest
from ansible.module_utils import basic
from ansible_collections.keel.infra.plugins.modules import compose_files

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
SECRET = "s3cret-value-7d1e"  # noqa: S105 - a test value
COMPOSE = "services:\n  front:\n    image: nginx\n    volumes: [./nginx.conf:/etc/nginx/conf.d/default.conf:ro]\n"
NGINX = "server { listen 80; }\n"


def read(path):
    with open(path) as handle:
        return handle.read()


class FakeCompose:
    """Answers `docker compose config` with rc, and records what the staged set held when it was asked."""

    def __init__(self, rc=0, err=""):
        self.rc = rc
        self.err = err
        self.calls = []
        self.seen = []

    def __call__(self, argv, **_kw):
        self.calls.append(argv)
        staged = argv[argv.index("--project-directory") + 1]
        self.seen.append({
            os.path.relpath(os.path.join(root, name), staged): read(os.path.join(root, name))
            for root, _dirs, names in os.walk(staged) for name in names
        })
        return self.rc, "", self.err


def args(folder, **extra):
    base = dict(
        project_dir=str(folder),
        project_name="web",
        compose=COMPOSE,
        env="GREETING='hello'\nTOKEN='%s'\n" % SECRET,
        files=[dict(dest="nginx.conf", content=NGINX, restart=["front"])],
        owner=OWNER,
        group=GROUP,
    )
    base.update(extra)
    return base


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def snapshot(folder):
    """Every path below folder with its content (files), mode and inode: a change to any of them shows."""
    found = {}
    for root, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = os.path.join(root, name)
            st = os.lstat(path)
            content = read(path) if stat.S_ISREG(st.st_mode) else None
            found[os.path.relpath(path, folder)] = (content, stat.S_IMODE(st.st_mode), st.st_ino)
    return found


@pytest.fixture
def stack(tmp_path):
    return tmp_path / "opt" / "web"


@pytest.fixture
def deployed(run_module, stack):
    out = run_module(compose_files.main, args(stack), FakeCompose())
    assert not out.failed, out.result
    return stack


def test_a_new_stack_gets_its_folder_and_files_checked_first(run_module, stack):
    fake = FakeCompose()
    out = run_module(compose_files.main, args(stack), fake)
    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["folder_created"] is True
    assert out.result["changed_files"] == ["compose.yaml", ".env", "nginx.conf"]
    assert out.result["restart"] == ["front"]
    assert mode(stack) == 0o750
    assert mode(stack / "compose.yaml") == 0o640
    assert mode(stack / ".env") == 0o600
    assert mode(stack / "nginx.conf") == 0o644
    assert (stack / "compose.yaml").read_text() == COMPOSE
    assert (stack / "nginx.conf").read_text() == NGINX
    staging = str(stack / ".staged")
    assert fake.calls == [[
        "/usr/bin/docker", "compose", "--project-name", "web", "--project-directory", staging,
        "--env-file", staging + "/.env", "--file", staging + "/compose.yaml", "config", "--quiet",
    ]]
    assert fake.seen[0]["nginx.conf"] == NGINX
    assert not (stack / ".staged").exists()


def test_a_second_run_changes_nothing_and_asks_compose_nothing(run_module, deployed):
    before = snapshot(deployed)
    fake = FakeCompose()
    out = run_module(compose_files.main, args(deployed), fake)
    assert out.result["changed"] is False
    assert out.result["folder_created"] is False
    assert out.result["changed_files"] == [] and out.result["restart"] == []
    assert fake.calls == []
    assert snapshot(deployed) == before


def test_a_changed_extra_file_alone_is_replaced_and_names_its_services(run_module, deployed):
    before = snapshot(deployed)
    fake = FakeCompose()
    files = [dict(dest="nginx.conf", content="server { listen 8080; }\n", restart=["front", "front"])]
    out = run_module(compose_files.main, args(deployed, files=files), fake)
    assert out.result["changed"] is True
    assert out.result["changed_files"] == ["nginx.conf"]
    assert out.result["restart"] == ["front"]
    # Compose saw the whole new set, the new extra file among it.
    assert fake.seen[0]["nginx.conf"] == "server { listen 8080; }\n"
    assert set(fake.seen[0]) == {"compose.yaml", ".env", "nginx.conf"}
    after = snapshot(deployed)
    assert after["compose.yaml"] == before["compose.yaml"], "an unchanged file was rewritten"
    assert after[".env"] == before[".env"]
    assert after["nginx.conf"][0] == "server { listen 8080; }\n"


def test_a_definition_compose_rejects_changes_no_live_file(run_module, deployed):
    before = snapshot(deployed)
    fake = FakeCompose(rc=15, err="invalid hostPort: not-a-port\n")
    files = [dict(dest="nginx.conf", content="server { listen 8080; }\n", restart=["front"])]
    out = run_module(compose_files.main, args(deployed, compose=COMPOSE + "# new\n", files=files), fake)
    assert out.failed
    assert out.result["msg"] == (
        "docker compose config rejected the new definition of stack 'web': invalid hostPort: not-a-port. "
        "The running stack and its files in %s are unchanged; fix the definition or its values." % deployed)
    assert out.result["stderr"] == "invalid hostPort: not-a-port\n"
    assert fake.seen[0]["nginx.conf"] == "server { listen 8080; }\n"
    assert snapshot(deployed) == before, "the live folder changed although Compose rejected the set"


def test_a_mode_change_alone_is_a_change(run_module, deployed):
    files = [dict(dest="nginx.conf", content=NGINX, mode="0600", restart=["front"])]
    out = run_module(compose_files.main, args(deployed, files=files), FakeCompose(), diff=True)
    assert out.result["changed_files"] == ["nginx.conf"]
    assert mode(deployed / "nginx.conf") == 0o600
    assert out.result["diff"][0]["before"] != out.result["diff"][0]["after"]


def test_a_wrong_folder_mode_is_fixed_without_touching_files(run_module, deployed):
    os.chmod(deployed, 0o755)  # noqa: S103 - the wrong mode the module must fix
    fake = FakeCompose()
    out = run_module(compose_files.main, args(deployed), fake)
    assert out.result["changed"] is True
    assert out.result["folder_created"] is False
    assert out.result["changed_files"] == []
    assert fake.calls == []
    assert mode(deployed) == 0o750


def test_the_mode_may_come_as_the_number_yaml_reads(run_module, stack):
    files = [dict(dest="conf/app.ini", content="[app]\n", mode=0o600)]
    out = run_module(compose_files.main, args(stack, files=files), FakeCompose())
    assert not out.failed, out.result
    assert mode(stack / "conf" / "app.ini") == 0o600
    assert mode(stack / "conf") == 0o750


def test_check_mode_on_a_new_host_creates_nothing_and_asks_compose_nothing(run_module, stack):
    fake = FakeCompose()
    out = run_module(compose_files.main, args(stack), fake, check_mode=True)
    assert out.result["changed"] is True
    assert out.result["folder_created"] is True
    assert out.result["changed_files"] == ["compose.yaml", ".env", "nginx.conf"]
    assert fake.calls == []
    assert not stack.exists()


def test_check_mode_checks_the_new_set_outside_the_stack_folder(run_module, deployed):
    before = snapshot(deployed)
    fake = FakeCompose()
    out = run_module(compose_files.main, args(deployed, compose=COMPOSE + "# new\n"), fake, check_mode=True)
    assert out.result["changed_files"] == ["compose.yaml"]
    assert fake.seen[0]["compose.yaml"] == COMPOSE + "# new\n"
    staged = fake.calls[0][fake.calls[0].index("--project-directory") + 1]
    assert not staged.startswith(str(deployed))
    assert not os.path.exists(staged)
    assert snapshot(deployed) == before


def test_check_mode_fails_when_compose_rejects(run_module, deployed):
    out = run_module(compose_files.main, args(deployed, compose="x"), FakeCompose(rc=1, err="bad"), check_mode=True)
    assert out.failed
    assert "rejected the new definition of stack 'web': bad." in out.result["msg"]


def test_env_values_are_never_returned_nor_in_the_diff(run_module, deployed):
    out = run_module(compose_files.main, args(deployed, env="TOKEN='other-secret-99'\n"), FakeCompose(), diff=True)
    assert out.result["changed_files"] == [".env"]
    text = json.dumps(out.result)
    assert SECRET not in text and "other-secret-99" not in text
    assert out.result["diff"] == [{
        "before": "(values not shown)\n",
        "after": "(new values not shown)\n",
        "before_header": ".env (mode 0600, owner %d:%d)" % (os.getuid(), os.getgid()),
        "after_header": ".env (mode 0600, owner %d:%d)" % (os.getuid(), os.getgid()),
    }]


def test_env_content_is_masked_in_everything_the_task_prints(monkeypatch, run_module, stack):
    modules = []
    init = basic.AnsibleModule.__init__

    def record(self, *a, **kw):
        init(self, *a, **kw)
        modules.append(self)

    monkeypatch.setattr(basic.AnsibleModule, "__init__", record)
    run_module(compose_files.main, args(stack), FakeCompose())
    # AnsibleModule masks its no_log values in results, warnings and the invocation, -v included.
    assert args(stack)["env"] in modules[0].no_log_values


def test_diff_shows_the_compose_file_before_and_after(run_module, deployed):
    out = run_module(compose_files.main, args(deployed, compose=COMPOSE + "# new\n"), FakeCompose(), diff=True)
    assert out.result["diff"][0]["before"] == COMPOSE
    assert out.result["diff"][0]["after"] == COMPOSE + "# new\n"


def test_a_leftover_staging_folder_is_removed(run_module, deployed):
    (deployed / ".staged").mkdir()
    (deployed / ".staged" / ".env").write_text("OLD='x'\n")
    out = run_module(compose_files.main, args(deployed), FakeCompose())
    assert out.result["changed"] is False
    assert not (deployed / ".staged").exists()


def test_a_link_in_place_of_the_staging_folder_is_removed_not_followed(run_module, deployed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").write_text("x")
    (deployed / ".staged").symlink_to(elsewhere)
    out = run_module(compose_files.main, args(deployed, compose=COMPOSE + "# new\n"), FakeCompose())
    assert not out.failed, out.result
    assert not os.path.lexists(deployed / ".staged")
    assert (elsewhere / "keep").read_text() == "x"


@pytest.mark.parametrize("dest, error", [
    ("/etc/passwd", "without \"..\" parts"),
    ("../escape", "without \"..\" parts"),
    ("conf/../../escape", "without \"..\" parts"),
    ("compose.yaml", "managed by the module itself"),
    ("./.env", "managed by the module itself"),
    (".staged/x", "outside the staging folder"),
])
def test_bad_destinations_are_refused_before_any_change(run_module, stack, dest, error):
    out = run_module(compose_files.main, args(stack, files=[dict(dest=dest, content="x")]), FakeCompose())
    assert out.failed
    assert "files[0] (dest %s)" % dest in out.result["msg"]
    assert error in out.result["msg"]
    assert not stack.exists()


def test_two_items_for_one_file_and_a_bad_mode_are_refused(run_module, stack):
    files = [dict(dest="a.conf", content="x"), dict(dest="./a.conf", content="y", mode="rw-")]
    out = run_module(compose_files.main, args(stack, files=files), FakeCompose())
    assert out.failed
    assert "files[1] (dest ./a.conf) names a file another item names too" in out.result["msg"]
    assert "mode must be octal such as 0644 (got rw-)" in out.result["msg"]


def test_a_folder_docker_made_where_a_file_belongs_is_refused(run_module, deployed):
    # What Docker leaves when a service mounted ./nginx.conf before it existed.
    (deployed / "nginx.conf").unlink()
    (deployed / "nginx.conf").mkdir()
    out = run_module(compose_files.main, args(deployed), FakeCompose())
    assert out.failed
    assert "nginx.conf is a folder in %s, where the stack needs a file; remove it" % deployed in out.result["msg"]


def test_an_unknown_owner_is_refused(run_module, stack):
    out = run_module(compose_files.main, args(stack, owner="no-such-user-keel"), FakeCompose())
    assert out.failed
    assert "owner no-such-user-keel is not a user of the host" in out.result["msg"]
    assert not stack.exists()


def test_an_unknown_option_of_a_file_is_refused(run_module, stack):
    files = [dict(dest="a.conf", content="x", restrat=["front"])]
    out = run_module(compose_files.main, args(stack, files=files), FakeCompose())
    assert out.failed
    assert "restrat" in out.result["msg"]


# compare_running: whether `docker compose up` would leave the running stack as it is.
IMAGE_ID = "sha256:" + "a" * 64
CONFIG = {"services": {"front": {"image": "nginx:1.27"}, "jobs": {"image": "nginx:1.27", "deploy": {"replicas": 2}}}}
HASHES = {"front": "h-front", "jobs": "h-jobs"}


def container(service, state="running", health="", config_hash=None, image=IMAGE_ID):
    labels = "com.docker.compose.config-hash=%s,com.docker.compose.image=%s" % (
        config_hash or HASHES[service], image)
    return {"Service": service, "State": state, "Health": health, "Labels": labels}


RUNNING = [container("front", health="healthy"), container("jobs"), container("jobs")]


def test_a_stack_running_as_defined_is_in_sync():
    assert compose_files.stack_in_sync(CONFIG, HASHES, RUNNING, {"nginx:1.27": IMAGE_ID})


@pytest.mark.parametrize("containers, image_ids", [
    (RUNNING[:2], {"nginx:1.27": IMAGE_ID}),  # one replica missing
    ([container("front", state="exited")] + RUNNING[1:], {"nginx:1.27": IMAGE_ID}),
    ([container("front", health="starting")] + RUNNING[1:], {"nginx:1.27": IMAGE_ID}),
    ([container("front", health="unhealthy")] + RUNNING[1:], {"nginx:1.27": IMAGE_ID}),
    ([container("front", config_hash="old")] + RUNNING[1:], {"nginx:1.27": IMAGE_ID}),
    (RUNNING, {"nginx:1.27": "sha256:" + "b" * 64}),  # the tag points at a new image
    (RUNNING + [dict(container("front"), Service="gone")], {"nginx:1.27": IMAGE_ID}),  # orphan
], ids=["replica-missing", "exited", "starting", "unhealthy", "config-changed", "new-image", "orphan"])
def test_what_compose_up_would_change_is_not_in_sync(containers, image_ids):
    assert not compose_files.stack_in_sync(CONFIG, HASHES, containers, image_ids)


class FakeRunningCompose(FakeCompose):
    """Answers the reads of the running stack too."""

    def __init__(self, containers):
        super().__init__()
        self.containers = containers

    def __call__(self, argv, **kw):
        if "--hash" in argv:
            return 0, "".join("%s %s\n" % item for item in HASHES.items()), ""
        if "--format" in argv and "config" in argv:
            return 0, json.dumps(CONFIG), ""
        if "ps" in argv:
            return 0, "".join(json.dumps(c) + "\n" for c in self.containers), ""
        if argv[1:3] == ["image", "inspect"]:
            return 0, IMAGE_ID + "\n", ""
        return super().__call__(argv, **kw)


def test_compare_running_reads_the_stack_only_when_no_file_changed(run_module, deployed):
    fake = FakeRunningCompose(RUNNING)
    out = run_module(compose_files.main, args(deployed, compare_running=True), fake)
    assert out.result["in_sync"] is True and out.result["changed"] is False
    fake = FakeRunningCompose(RUNNING)
    out = run_module(compose_files.main, args(deployed, compose=COMPOSE + "# new\n", compare_running=True), fake)
    assert out.result["in_sync"] is False and out.result["changed"] is True
    assert not [argv for argv in fake.calls if "ps" in argv]


def test_a_stopped_stack_is_not_in_sync(run_module, deployed):
    fake = FakeRunningCompose([container("front", state="exited")] + RUNNING[1:])
    out = run_module(compose_files.main, args(deployed, compare_running=True), fake)
    assert out.result["in_sync"] is False
