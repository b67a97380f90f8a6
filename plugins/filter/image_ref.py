# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for Docker image references."""

from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.module_utils._image_ref import (
    ImageRefError,
    normalize_image_ref,
)


def image_ref(ref):
    """Normalize one image reference the way the engine shows it."""
    try:
        return normalize_image_ref(ref)
    except ImageRefError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def missing_images(archives, present):
    """Return the archive items whose image is not among the present tags."""
    if not isinstance(archives, list):
        raise AnsibleFilterError(
            "missing_images expects a list of {image, src} items, got %s" % type(archives).__name__
        )
    have = set()
    for tag in present or []:
        try:
            have.add(normalize_image_ref(tag))
        except ImageRefError:
            continue  # the engine may list <none>:<none>; it never matches a wanted image
    result = []
    for item in archives:
        if not isinstance(item, dict) or "image" not in item:
            raise AnsibleFilterError("missing_images: every item needs an 'image' key, got %r" % (item,))
        if image_ref(item["image"]) not in have:
            result.append(item)
    return result


class FilterModule(object):
    """Docker image reference filters."""

    def filters(self):
        return {
            "image_ref": image_ref,
            "missing_images": missing_images,
        }
