# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing of Docker image references, shared by Keel's filters and modules.

The engine reports images by their short canonical name (``nginx:latest``), while
people write ``nginx``, ``docker.io/library/nginx`` or ``nginx:1.27@sha256:...``.
Comparing the two as strings makes tasks reload or re-pull on every run.
"""

import re

DEFAULT_REGISTRY = "docker.io"
_DOMAIN_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")
# A lowercase repository path of slash-separated components (Docker's grammar,
# simplified to what Keel accepts).
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class ImageRefError(ValueError):
    """An image reference that Docker would reject."""


def split_image_ref(ref):
    """Return (domain, path, tag, digest) of an image reference, with defaults filled in."""
    if not isinstance(ref, str) or not ref.strip():
        raise ImageRefError("an image reference must be a non-empty string, got %r" % (ref,))
    rest = ref.strip()
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise ImageRefError("image %r: digest %r is not sha256:<64 hex digits>" % (ref, digest))
    tag = None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        rest, tag = rest.rsplit(":", 1)
        if not _TAG.match(tag):
            raise ImageRefError("image %r: tag %r is not a valid tag" % (ref, tag))
    parts = rest.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, parts[1:]
    else:
        domain, path = DEFAULT_REGISTRY, parts
    if domain in _DOMAIN_ALIASES:
        domain = DEFAULT_REGISTRY
        if len(path) == 1:
            path = ["library"] + path
    for component in path:
        if not _COMPONENT.match(component):
            raise ImageRefError(
                "image %r: %r is not a valid repository name component "
                "(lowercase letters, digits and . _ - separators)" % (ref, component)
            )
    if tag is None and digest is None:
        tag = "latest"
    return domain, "/".join(path), tag, digest


def normalize_image_ref(ref):
    """The name the engine shows for an image: ``nginx`` -> ``nginx:latest``.

    Docker Hub images lose their ``docker.io/`` and ``library/`` prefixes, other
    registries keep their host. A digest, when given, is kept after the tag.
    """
    domain, path, tag, digest = split_image_ref(ref)
    if domain == DEFAULT_REGISTRY:
        name = path[len("library/"):] if path.startswith("library/") and path.count("/") == 1 else path
    else:
        name = domain + "/" + path
    if tag:
        name += ":" + tag
    if digest:
        name += "@" + digest
    return name
