# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's input rules as Jinja tests, for roles that select or count values.

Messages for bad input come from the filter keel.infra.input_errors; these tests
answer yes or no with the same rules (module_utils/_rules.py).
"""

from ansible_collections.keel.infra.plugins.module_utils import _rules

# The rules roles need as a yes or no; each has its documentation beside this file.
TESTS = ('ssh_public_key', 'ssh_authorized_key', 'login_name', 'dns_name')


def _test(rule):
    def test(value):
        return rule(value) is None
    test.__name__ = rule.__name__
    return test


class TestModule(object):
    def tests(self):
        return dict((name, _test(_rules.RULES[name])) for name in TESTS)
