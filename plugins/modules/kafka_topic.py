#!/usr/bin/python
# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: kafka_topic
short_description: Create, change and delete an Apache Kafka topic
version_added: 0.1.0
description:
  - Makes one Kafka topic match what is declared, that is its partition count, replication factor and
    topic configs (C(retention.ms), C(cleanup.policy), ...).
  - Creates a missing topic; adds partitions; sets configs that differ; deletes the topic with
    O(state=absent). Reports no change when the topic already matches.
  - Refuses, with nothing changed, what Kafka cannot do in place - fewer partitions than the topic has,
    another replication factor - and input Kafka would reject - an invalid topic name, a negative
    retention other than C(-1), C(min.insync.replicas) above the replication factor.
  - This is M(keel.infra.kafka_topics) for a single topic, with the same rules and the same options (given
    here at the top level). For several topics, use M(keel.infra.kafka_topics) rather than a loop over this
    module - it asks the cluster once for all of them instead of once per topic.
author:
  - Keel maintainers (!UNKNOWN)
extends_documentation_fragment:
  - keel.infra.kafka
  - keel.infra.container_exec
options:
  name:
    description: Name of the topic, as O(keel.infra.kafka_topics#module:topics[].name).
    type: str
    required: true
    aliases: [topic]
  state:
    description: V(present) or V(absent), as O(keel.infra.kafka_topics#module:topics[].state).
    type: str
    choices: [present, absent]
    default: present
  partitions:
    description: Number of partitions (raised, never lowered), as O(keel.infra.kafka_topics#module:topics[].partitions).
    type: int
  replication_factor:
    description: Copies of each partition, as O(keel.infra.kafka_topics#module:topics[].replication_factor).
    type: int
  configs:
    description: Topic configs as a mapping, as O(keel.infra.kafka_topics#module:topics[].configs).
    type: dict
    default: {}
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

- name: Delete a topic that is no longer used
  keel.infra.kafka_topic:
    name: legacy.events
    state: absent
    bootstrap_server: broker1.example.net:9092
    kafka_bin: /opt/kafka/bin
'''

RETURN = r'''
topic:
  description:
    - The topic as it is after the task (as it would be, in check mode); empty when absent.
    - The same as the RV(keel.infra.kafka_topics#module:topics[].topic) of each topic of M(keel.infra.kafka_topics).
  returned: always
  type: dict
  sample:
    name: finance.gl.journal-entries
    partitions: 6
    replication_factor: 3
    configs:
      retention.ms: "259200000"
      min.insync.replicas: "2"
changes:
  description: What was done to the topic (would be done, in check mode), one line per change.
  returned: always
  type: list
  elements: str
  sample: ["set configs of finance.gl.journal-entries: retention.ms=604800000"]
commands:
  description: The Kafka tool commands that changed the topic (would change it, in check mode).
  returned: always
  type: list
  elements: list
'''

# Imports follow the documentation strings, as in every Ansible module.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.keel.infra.plugins.module_utils._kafka import (  # noqa: E402
    manage_topics,
    tools_argument_spec,
    topic_argument_spec,
    wanted_topic,
)


def main():
    argument_spec = topic_argument_spec()
    argument_spec.update(tools_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)

    def result(reports):
        report = reports[0] if reports else dict(changed=False, topic={}, changes=[], commands=[])
        out = dict((key, report[key]) for key in ('changed', 'topic', 'changes', 'commands'))
        if module._diff and 'diff' in report:
            out['diff'] = report['diff']
        return out

    reports = manage_topics(module, [wanted_topic(module.params)], result)
    module.exit_json(**result(reports))


if __name__ == '__main__':
    main()
