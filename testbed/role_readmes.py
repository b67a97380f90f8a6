"""Each role's README.md, its reference part made from the role's meta/argument_specs.yml.

    role_readmes.py write   make the generated part of every roles/*/README.md anew
    role_readmes.py check   list the roles whose README is out of date, exit 1 if any (`make lint`)

The generated part sits between the comments BEGIN and END: the role's name, what
it does, the playbooks, roles and Molecule scenarios that name it, and its entry
points with a table of their options. Text after it is kept as written
(roles/kafka/README.md has more to say).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- Generated from meta/argument_specs.yml by testbed/role_readmes.py: edit those, then run it. -->"
END = "<!-- End of the generated part. -->"
# The files through which a role runs another: its tasks, handlers and dependencies.
ROLE_FILES = ("tasks/*.yml", "handlers/*.yml", "meta/main.yml")


def markdown(text) -> str:
    """Ansible's documentation markup as Markdown: C(x), O(x), V(x), M(x), P(x), E(x) become code."""
    return re.sub(r"\b[CEMOPV]\(([^()]*)\)", r"`\1`", " ".join(str(text or "").split()))


def sentence(text) -> str:
    return markdown(text).rstrip(".") + "."


def paragraphs(description) -> list[str]:
    items = [description] if isinstance(description, str) else description or []
    return [markdown(item) for item in items]


def text_block(description) -> list[str]:
    """A description as Markdown lines: one paragraph as it is, several as a list."""
    items = paragraphs(description)
    return (items if len(items) == 1 else [f"- {item}" for item in items]) + [""] * bool(items)


def first_sentence(description) -> str:
    text = next(iter(paragraphs(description)), "")
    return re.split(r"(?<=\.)\s+(?=[A-Z`])", text, maxsplit=1)[0]


def code(value) -> str:
    if value is None:
        return ""
    return f"`{value if isinstance(value, str) and value else json.dumps(value)}`"


def option_rows(options: dict, prefix: str = ""):
    """One table row per option; suboptions follow their option, named `option.suboption`."""
    for name, spec in options.items():
        kind = spec.get("type", "str") + (f" of {spec['elements']}" if "elements" in spec else "")
        text = first_sentence(spec.get("description"))
        if "choices" in spec:
            text += " One of " + ", ".join(code(choice) for choice in spec["choices"]) + "."
        cells = [f"`{prefix}{name}`", kind, code(spec.get("default")), "yes" if spec.get("required") else "", text]
        yield "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
        yield from option_rows(spec.get("options") or {}, f"{prefix}{name}.")


def entry_point(name: str, spec: dict, earlier: dict) -> list[str]:
    """An entry point's section. One that repeats an earlier one, takes its options or has
    internal options only (`validate`, `healthy`) gets a line instead of a table."""
    lines = [f"### `{name}`", ""]
    twin = next((other for other, other_spec in earlier.items() if other_spec == spec), None)
    if twin:
        return [*lines, f"Same description and options as `{twin}`.", ""]
    if name != "main":  # main's text opens the README
        lines += [sentence(spec.get("short_description")), "", *text_block(spec.get("description"))]
    options = spec.get("options") or {}
    same = next((other for other, other_spec in earlier.items() if other_spec.get("options") == options), "")
    if options and same:
        lines.append(f"Takes the options of `{same}`.")
    elif options and all(option.startswith("_") for option in options):
        names = ", ".join(f"`{option}`" for option in options)
        lines.append(f"Internal options, set by the role that includes it: {names}.")
    elif options:
        lines += ["| option | type | default | required | description |", "|---|---|---|---|---|"]
        lines += option_rows(options)
    else:
        lines.append("No options.")
    return [*lines, ""]


def reached(start) -> str:
    """The text of the given files and of every .yml file they name relative to their folder, comments left out."""
    seen, todo, texts = set(), list(start), []
    while todo:
        path = Path(todo.pop()).resolve()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        texts.append(re.sub(r"(?m)^\s*#.*$", "", path.read_text()))  # comments name roles they don't run
        todo += [path.parent / ref for ref in re.findall(r"[\w./-]+\.yml", texts[-1])]
    return "\n".join(texts)


def used_by(role: str) -> list[str]:
    """Playbooks, other roles and Molecule scenarios that name the role, in their files or those they import."""
    def uses(start) -> bool:
        return re.search(rf"\bkeel\.infra\.{role}\b", reached(start)) is not None

    playbooks = [f"`playbooks/{p.name}`" for p in sorted((PROJECT / "playbooks").glob("*.yml")) if uses([p])]
    roles = [f"`{r.name}`" for r in sorted((PROJECT / "roles").iterdir())
             if r.name != role and uses(f for pattern in ROLE_FILES for f in r.glob(pattern))]
    # molecule/_shared holds what scenarios import; it is no scenario of its own.
    scenarios = [f"`{s.name}`" for s in sorted((PROJECT / "molecule").iterdir())
                 if s.is_dir() and not s.name.startswith("_") and uses(s.glob("*.yml"))]
    parts = [", ".join(playbooks), "roles " + ", ".join(roles), "Molecule scenarios " + ", ".join(scenarios)]
    parts = [part for part, names in zip(parts, (playbooks, roles, scenarios), strict=True) if names]
    return [f"Used by {'; '.join(parts)}.", ""] if parts else []


def generated(role: Path) -> str:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    main = specs.get("main", {})
    lines = [f"# keel.infra.{role.name}", "", sentence(main.get("short_description")), ""]
    lines += text_block(main.get("description"))
    lines += [*used_by(role.name), "## Entry points", ""]
    earlier = {}
    for name, spec in specs.items():
        lines += entry_point(name, spec, earlier)
        earlier[name] = spec
    return "\n".join(lines)


def readme(role: Path, old: str | None) -> str:
    """The README with its generated part made anew; a README written by hand gets it on top."""
    part = f"{BEGIN}\n\n{generated(role)}\n{END}"
    if not old or BEGIN not in old:
        return f"{part}\n" + (f"\n{old}" if old else "")
    head, rest = old.split(BEGIN, 1)
    return head + part + rest.split(END, 1)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["write", "check"])
    args = parser.parse_args(argv)
    stale = []
    for role in sorted(p.parent.parent for p in PROJECT.glob("roles/*/meta/argument_specs.yml")):
        path = role / "README.md"
        old = path.read_text() if path.exists() else None
        new = readme(role, old)
        if new != old:
            stale.append(role.name)
            if args.mode == "write":
                path.write_text(new)
                print(f"wrote roles/{role.name}/README.md")
    if args.mode == "check" and stale:
        print(f"README.md out of date with meta/argument_specs.yml (or with what uses the role): {', '.join(stale)}. "
              "Run: python testbed/role_readmes.py write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
