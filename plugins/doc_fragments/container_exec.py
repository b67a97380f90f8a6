# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    """Options of modules that run a service's tools in its container (module_utils._container_exec)."""

    DOCUMENTATION = r'''
options:
  container:
    description:
      - Name of a container that has the tools; they run in it with C(docker exec). When omitted, the tools
        run on the managed host.
    type: str
  docker_executable:
    description:
      - The docker command, used when O(container) is set.
    type: str
    default: docker
'''
