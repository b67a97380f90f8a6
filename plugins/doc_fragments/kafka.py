# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    """Where and how the Kafka topic modules run the tools (module_utils._kafka.tools_argument_spec), and what
    the modules support."""

    DOCUMENTATION = r'''
options:
  bootstrap_server:
    description:
      - Address of a broker, as seen from where the tools run (inside O(container) when it is set).
    type: str
    default: localhost:9092
  kafka_bin:
    description:
      - Folder that holds C(kafka-topics.sh) and C(kafka-configs.sh), in the container or on the host.
    type: path
    default: /opt/kafka/bin
  command_config:
    description:
      - Path of a client properties file (TLS, SASL) passed to the tools as C(--command-config).
    type: path
  tool_env:
    description:
      - Environment of the tools' JVM. The default keeps each run small and quick to start.
    type: dict
    default:
      KAFKA_HEAP_OPTS: -Xmx128M
      KAFKA_JVM_PERFORMANCE_OPTS: -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto
attributes:
  check_mode:
    support: full
    description: Reports what would be created or changed, and refuses what would be refused, without changing anything.
  diff_mode:
    support: full
    description: Shows partitions, replication factor and managed configs of each topic that changes, before and after.
notes:
  - O(container) is a container that has Kafka's tools, for example a broker's.
  - Each run of a Kafka tool starts a JVM (a few seconds). A task runs C(kafka-topics.sh --describe) once for
    all its topics, then one more run per change; a task whose topics all match runs one.
  - Changing the replication factor of an existing topic needs a partition reassignment and is refused.
seealso:
  - name: Kafka topic configs
    description: The configs a topic accepts.
    link: https://kafka.apache.org/documentation/#topicconfigs
'''
