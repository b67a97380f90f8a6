# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    """Options of modules that read a channel's configuration and submit config updates as one organization's
    admin (module_utils._fabric_update); the tools run as the keel.infra.container_exec fragment says."""

    DOCUMENTATION = r'''
attributes:
  check_mode:
    support: full
    description: Reads the channel and computes the update; signs and submits nothing.
  diff_mode:
    support: none
    description: The return values say what the update changes.
options:
  channel:
    description: Name of the channel.
    type: str
    required: true
  msp_id:
    description: MSP ID of the organization whose admin reads the channel and signs the update here.
    type: str
    required: true
  msp_path:
    description: MSP folder of that organization's admin.
    type: path
    required: true
  orderer_address:
    description: An orderer of the channel, C(host:port), that the configuration is read from and the update sent to.
    type: str
    required: true
  orderer_tls_root_cert:
    description: TLS CA certificate of that orderer's organization.
    type: path
    required: true
  work_dir:
    description: Folder for the configuration files, the same path on the host and where the tools run.
    type: path
    required: true
'''
