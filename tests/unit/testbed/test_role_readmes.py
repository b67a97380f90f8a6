"""The role README generator: option tables from argument specs, who uses a role, write and check."""

import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[3] / "testbed" / "role_readmes.py"
spec = importlib.util.spec_from_file_location("role_readmes", TOOL)
rr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rr)

WEB_SPECS = """\
argument_specs:
  main:
    short_description: A web server
    description:
      - Serves C(/srv/www) on O(web_port). Nothing else.
      - Reloads on change.
    options: &options
      web_port:
        type: int
        default: 80
        description: Port to listen on. Below 1024 needs root.
      web_sites:
        type: list
        elements: dict
        default: []
        description: Sites.
        options:
          name:
            type: str
            required: true
            description: Site name.
          mode:
            type: str
            choices: [static, proxy]
            description: How the site is served.
      web_check:
        type: str
        default: "{{ web_port | string }}"
        description: What to check.
  sites: &sites
    short_description: The HTTPS sites
    options: *options
  again: *sites
  validate:
    short_description: The checks of main's input
    options: *options
  health:
    short_description: Wait until healthy
    options:
      __web_timeout:
        type: int
        required: true
        description: Seconds.
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project with two roles (web, base: web's dependency), a playbook and two scenarios."""
    files = {
        "roles/web/meta/argument_specs.yml": WEB_SPECS,
        "roles/web/meta/main.yml": "dependencies:\n  - role: keel.infra.base\n",
        "roles/web/tasks/main.yml": "- ansible.builtin.include_tasks: sites.yml\n",
        "roles/web/tasks/sites.yml": "# Not keel.infra.other: a comment names no role it runs.\n- debug: {}\n",
        "roles/base/meta/argument_specs.yml": "argument_specs:\n  main:\n    short_description: Base.\n",
        "playbooks/site.yml": "- ansible.builtin.import_playbook: preflight.yml\n- hosts: all\n"
                              "  roles: [keel.infra.web]\n",
        "playbooks/preflight.yml": "- hosts: all\n",
        "molecule/web/converge.yml": "- ansible.builtin.import_playbook: ../../playbooks/site.yml\n",
        "molecule/web_again/molecule.yml": "provisioner:\n  playbooks:\n    converge: ../web/converge.yml\n",
        "molecule/other/converge.yml": "- hosts: all\n  roles: [keel.infra.webserver]\n",
        # What scenarios import; no scenario of its own.
        "molecule/_shared/web_host.yml": "- hosts: all\n  roles: [keel.infra.web]\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(rr, "PROJECT", tmp_path)
    return tmp_path


def test_markup_becomes_markdown_and_first_sentence_is_kept():
    assert rr.markdown("Set O(a_b) to  C(x=1)\n or V(''); see M(keel.infra.host_state).") == \
        "Set `a_b` to `x=1` or `''`; see `keel.infra.host_state`."
    assert rr.first_sentence(["Port to listen on. Below 1024 needs root.", "More."]) == "Port to listen on."
    assert rr.first_sentence("Topics, each C({name}). C(partitions) defaults to 3.") == "Topics, each `{name}`."
    assert rr.first_sentence("Use e.g. a name.") == "Use e.g. a name."
    assert rr.first_sentence(None) == ""


def test_option_rows_show_type_default_required_choices_and_suboptions():
    rows = list(rr.option_rows(rr.yaml.safe_load(WEB_SPECS)["argument_specs"]["main"]["options"]))
    assert rows == [
        "| `web_port` | int | `80` |  | Port to listen on. |",
        "| `web_sites` | list of dict | `[]` |  | Sites. |",
        "| `web_sites.name` | str |  | yes | Site name. |",
        "| `web_sites.mode` | str |  |  | How the site is served. One of `static`, `proxy`. |",
        "| `web_check` | str | `{{ web_port \\| string }}` |  | What to check. |",
    ]


def test_readme_tells_what_the_role_does_who_uses_it_and_its_entry_points(project):
    text = rr.readme(project / "roles/web", None)
    assert text.startswith(f"{rr.BEGIN}\n\n# keel.infra.web\n\nA web server.\n\n"
                           "- Serves `/srv/www` on `web_port`. Nothing else.\n- Reloads on change.\n")
    assert text.endswith(f"{rr.END}\n")
    # Through imported playbooks and converge files; keel.infra.webserver is another role.
    assert "Used by `playbooks/site.yml`; Molecule scenarios `web`, `web_again`.\n" in text
    assert text.count("| `web_port` |") == 1  # main's table only
    assert "### `sites`\n\nThe HTTPS sites.\n\nTakes the options of `main`.\n" in text
    assert "### `again`\n\nSame description and options as `sites`.\n" in text
    assert "### `validate`\n\nThe checks of main's input.\n\nTakes the options of `main`.\n" in text
    assert "Internal options, set by the role that includes it: `__web_timeout`." in text
    base = rr.readme(project / "roles/base", None)
    assert "Base.\n\nUsed by roles `web`.\n\n## Entry points\n\n### `main`\n\nNo options.\n" in base


def test_check_lists_stale_readmes_and_write_keeps_text_after_the_generated_part(project, capsys):
    assert rr.main(["check"]) == 1
    assert "base, web" in capsys.readouterr().err
    (project / "roles/base/README.md").write_text("## Upgrading\n\nWritten by hand.\n")
    assert rr.main(["write"]) == 0
    assert "wrote roles/base/README.md" in capsys.readouterr().out
    assert rr.main(["write"]) == 0
    assert capsys.readouterr().out == ""  # nothing changed, nothing written
    assert rr.main(["check"]) == 0
    base = (project / "roles/base/README.md").read_text()
    assert base.startswith(f"{rr.BEGIN}\n\n# keel.infra.base\n\nBase.\n")
    assert base.endswith(f"{rr.END}\n\n## Upgrading\n\nWritten by hand.\n")

    web = project / "roles/web/README.md"
    web.write_text(web.read_text().replace(rr.END, f"{rr.END}\n\n## More\n\nBy hand.") + "Old line.\n")
    specs = project / "roles/web/meta/argument_specs.yml"
    specs.write_text(specs.read_text().replace("default: 80", "default: 8080"))
    assert rr.main(["check"]) == 1
    assert "web" in capsys.readouterr().err
    assert rr.main(["write"]) == 0
    text = web.read_text()
    assert "| `web_port` | int | `8080` |" in text
    assert text.endswith(f"{rr.END}\n\n## More\n\nBy hand.\nOld line.\n")
    assert rr.main(["check"]) == 0
