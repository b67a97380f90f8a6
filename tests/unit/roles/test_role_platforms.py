"""Every role claims the same platforms, the ones the README's Platforms section names."""

from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[3]
ROLES = sorted(p for p in (PROJECT / "roles").iterdir() if p.is_dir())
PLATFORMS = [{"name": "Debian", "versions": ["bookworm"]}, {"name": "Ubuntu", "versions": ["jammy", "noble"]}]


def test_every_role_claims_the_platforms_of_the_readme():
    claims = {role.name: yaml.safe_load((role / "meta" / "main.yml").read_text())["galaxy_info"]["platforms"]
              for role in ROLES}
    assert {name: platforms for name, platforms in claims.items() if platforms != PLATFORMS} == {}
    section = (PROJECT / "README.md").read_text().split("### Platforms", 1)[1].split("\n#", 1)[0]
    platforms = " ".join(section.split())
    for claim in ("Debian 12 (bookworm)", "Ubuntu 22.04 (jammy)", "Ubuntu 24.04 (noble)"):
        assert claim in platforms
