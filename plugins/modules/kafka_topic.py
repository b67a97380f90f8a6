#!/usr/bin/python
# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: kafka_topic
short_description: Create, change and delete Apache Kafka topics
version_added: 0.1.0
description:
  - Makes one Kafka topic match what is declared, that is its partition count, replication factor and
    topic configs (C(retention.ms), C(cleanup.policy), ...).
  - Creates a missing topic; adds partitions; sets configs that differ; deletes the topic with
    O(state=absent). Reports no change when the topic already matches.
  - Refuses, with nothing changed, what Kafka cannot do in place - fewer partitions than the topic has,
    another replication factor - and input Kafka would reject - an invalid topic name, a negative
    retention other than C(-1), C(min.insync.replicas) above the replication factor.
  - Works with Kafka's own command line tools (C(kafka-topics.sh), C(kafka-configs.sh)), run inside the
    broker's container with C(docker exec) when O(container) is set, else on the managed host. Nothing
    needs to be installed besides Kafka; works with KRaft clusters of Kafka 3.x and 4.x.
  - Only the configs named in O(configs) are compared and changed; other topic configs are left alone.
author:
  - Keel maintainers (!UNKNOWN)
attributes:
  check_mode:
    support: full
    description: Reports what would be created or changed, and refuses what would be refused, without changing anything.
  diff_mode:
    support: full
    description: Shows partitions, replication factor and the managed configs before and after.
options:
  name:
    description:
      - Name of the topic. ASCII letters, digits, C(.), C(_) and C(-), at most 249 characters.
    type: str
    required: true
    aliases: [topic]
  state:
    description:
      - V(present) creates or updates the topic, V(absent) deletes it and its records.
    type: str
    choices: [present, absent]
    default: present
  partitions:
    description:
      - Number of partitions. Can be raised on an existing topic, never lowered.
      - When omitted, a new topic gets the cluster's C(num.partitions) and an existing one keeps its count.
    type: int
  replication_factor:
    description:
      - Number of copies of each partition, at most the number of brokers.
      - When omitted, a new topic gets the cluster's C(default.replication.factor); an existing topic's
        factor is not compared.
    type: int
  configs:
    description:
      - 'Topic configs as a mapping, for example C({retention.ms: 259200000, cleanup.policy: delete}).'
      - Values are compared as Kafka prints them; booleans become V(true)/V(false) and lists are joined with commas.
    type: dict
    default: {}
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
extends_documentation_fragment:
  - keel.infra.container_exec
notes:
  - O(container) is a container that has Kafka's tools, for example a broker's.
  - Each run of a Kafka tool starts a JVM; a task costs one run when the topic matches and one more per change.
  - Changing the replication factor of an existing topic needs a partition reassignment and is refused.
seealso:
  - name: Kafka topic configs
    description: The configs a topic accepts.
    link: https://kafka.apache.org/documentation/#topicconfigs
'''

EXAMPLES = r'''
- name: Keep the ledger topic with 3 days of records
  keel.infra.kafka_topic:
    name: finance.gl.journal-entries
    partitions: 6
    replication_factor: 3
    configs:
      retention.ms: 259200000
      min.insync.replicas: 2
    container: kafka-1

- name: Manage a list of topics from group_vars
  keel.infra.kafka_topic:
    name: "{{ item.name }}"
    partitions: "{{ item.partitions | default(omit) }}"
    replication_factor: "{{ item.replication_factor | default(omit) }}"
    configs: "{{ item.configs | default({}) }}"
    container: kafka-1
  loop: "{{ chiroerp_topics }}"
  loop_control:
    label: "{{ item.name }}"

- name: Delete a topic that is no longer used
  keel.infra.kafka_topic:
    name: legacy.events
    state: absent
    bootstrap_server: broker1.example.net:9092
    kafka_bin: /opt/kafka/bin
'''

RETURN = r'''
topic:
  description: The topic as it is after the task (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Topic name.
      type: str
    partitions:
      description: Partition count.
      type: int
    replication_factor:
      description: Replication factor.
      type: int
    configs:
      description: The topic's configs that differ from Kafka's defaults, as strings.
      type: dict
  sample:
    name: finance.gl.journal-entries
    partitions: 6
    replication_factor: 3
    configs:
      retention.ms: "259200000"
      min.insync.replicas: "2"
changes:
  description: What was done (or would be done in check mode), one line per change.
  returned: always
  type: list
  elements: str
  sample:
    - "set configs retention.ms=604800000"
commands:
  description: The Kafka tool commands that were run to change the topic (would be run, in check mode).
  returned: always
  type: list
  elements: list
'''

# Imports follow the documentation strings, as in every Ansible module.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.keel.infra.plugins.module_utils._container_exec import (  # noqa: E402
    ContainerExec,
    container_exec_argument_spec,
)
from ansible_collections.keel.infra.plugins.module_utils._kafka import (  # noqa: E402
    apply_plan,
    config_argument,
    normalize_configs,
    parse_describe,
    plan_topic,
    tool_error,
    topic_pattern,
    topic_view,
)


class KafkaTools(ContainerExec):
    """Runs Kafka's command line tools, in a container or on the host."""

    def __init__(self, module):
        params = module.params
        super(KafkaTools, self).__init__(module, env=params['tool_env'])
        self.bin = params['kafka_bin'].rstrip('/')
        self.common = ['--bootstrap-server', params['bootstrap_server']]
        if params['command_config']:
            self.common += ['--command-config', params['command_config']]

    def tool_argv(self, tool, args):
        return self.argv(['%s/%s' % (self.bin, tool)] + self.common + list(args))

    def tool(self, tool, args):
        return self.run(['%s/%s' % (self.bin, tool)] + self.common + list(args))

    def describe(self, name):
        rc, out, err = self.tool('kafka-topics.sh', ['--describe', '--topic', topic_pattern(name), '--if-exists'])
        if rc != 0:
            self.module.fail_json(msg='could not describe topic %s: %s' % (name, tool_error(out, err)),
                                  rc=rc, stdout=out, stderr=err)
        return parse_describe(out, name)


def action_commands(name, wanted, actions):
    """The tool invocations, as (tool, args, description), that carry out the actions."""
    commands = []
    configs = normalize_configs(wanted.get('configs'))
    for action in actions:
        if action[0] == 'create':
            args = ['--create', '--topic', name]
            if wanted.get('partitions') is not None:
                args += ['--partitions', str(wanted['partitions'])]
            if wanted.get('replication_factor') is not None:
                args += ['--replication-factor', str(wanted['replication_factor'])]
            for key in sorted(configs):
                args += ['--config', '%s=%s' % (key, configs[key])]
            commands.append(('kafka-topics.sh', args, 'create topic %s' % name))
        elif action[0] == 'partitions':
            commands.append(('kafka-topics.sh', ['--alter', '--topic', topic_pattern(name), '--partitions',
                                                 str(action[1])],
                             'raise partitions of %s to %d' % (name, action[1])))
        elif action[0] == 'configs':
            commands.append(('kafka-configs.sh', ['--alter', '--entity-type', 'topics', '--entity-name', name,
                                                  '--add-config', config_argument(action[1])],
                             'set configs %s' % ', '.join('%s=%s' % kv for kv in sorted(action[1].items()))))
        elif action[0] == 'delete':
            commands.append(('kafka-topics.sh', ['--delete', '--topic', topic_pattern(name), '--if-exists'],
                             'delete topic %s' % name))
    return commands


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True, aliases=['topic']),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            partitions=dict(type='int'),
            replication_factor=dict(type='int'),
            configs=dict(type='dict', default={}),
            bootstrap_server=dict(type='str', default='localhost:9092'),
            kafka_bin=dict(type='path', default='/opt/kafka/bin'),
            command_config=dict(type='path'),
            tool_env=dict(type='dict', default={
                'KAFKA_HEAP_OPTS': '-Xmx128M',
                'KAFKA_JVM_PERFORMANCE_OPTS': '-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto',
            }),
            **container_exec_argument_spec()
        ),
        supports_check_mode=True,
    )
    params = module.params
    wanted = {
        'name': params['name'],
        'state': params['state'],
        'partitions': params['partitions'],
        'replication_factor': params['replication_factor'],
        'configs': params['configs'],
    }

    # Input Kafka would reject is refused before the cluster is even asked.
    _actions, errors = plan_topic(None, dict(wanted, state='absent'))
    if errors:
        module.fail_json(msg='; '.join(errors), changes=[], commands=[])

    tools = KafkaTools(module)
    current = tools.describe(params['name'])
    actions, errors = plan_topic(current, wanted)
    if errors:
        module.fail_json(msg='; '.join(errors), changes=[], commands=[], topic=current or {})

    commands = action_commands(params['name'], wanted, actions)
    after = apply_plan(current, wanted, actions)
    keys = normalize_configs(params['configs']).keys()
    result = dict(
        changed=bool(commands),
        topic=after or {},
        changes=[description for _tool, _args, description in commands],
        commands=[tools.tool_argv(tool, args) for tool, args, _description in commands],
    )
    if module._diff:
        result['diff'] = dict(before=topic_view(current, keys), after=topic_view(after, keys))
    if module.check_mode:
        module.exit_json(**result)

    for tool, args, description in commands:
        rc, out, err = tools.tool(tool, args)
        if rc != 0:
            module.fail_json(msg='could not %s: %s' % (description, tool_error(out, err)), rc=rc,
                             stdout=out, stderr=err, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
