# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input as a job template's survey types it: AWX gives a text question's answer as one string."""

import re

from ansible.errors import AnsibleFilterError

_ITEM = re.compile(r"[^,\s]+")


def answer_list(value):
    """A list as given, or the items of a text separated by commas, spaces or new lines ([] for none)."""
    if value is None:
        return []
    if isinstance(value, str):
        return _ITEM.findall(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    raise AnsibleFilterError("answer_list: expected a list or a text of items separated by commas or spaces, got %r"
                             % (value,))


class FilterModule(object):
    def filters(self):
        return {"answer_list": answer_list}
