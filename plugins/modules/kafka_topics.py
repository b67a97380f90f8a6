#!/usr/bin/python
# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: kafka_topics
short_description: Create, change and delete a list of Apache Kafka topics in one task
version_added: 0.1.0
description:
  - Makes every topic of O(topics) match what is declared, that is its partition count, replication factor
    and topic configs (C(retention.ms), C(cleanup.policy), ...).
  - Creates missing topics; adds partitions; sets configs that differ; deletes topics with
    O(topics[].state=absent). Reports no change when every topic already matches.
  - Asks the cluster once for all the topics (one C(kafka-topics.sh --describe)) and runs a tool only for a
    change that is needed, so a task for tens of topics that all match costs one tool run.
  - Checks every topic before it changes any. It refuses, with no topic changed, input Kafka would reject -
    an invalid topic name, a name declared twice, a negative retention other than C(-1),
    C(min.insync.replicas) above the replication factor - and what Kafka cannot do in place - fewer
    partitions than a topic has, another replication factor. The message names every refused topic.
  - Works with Kafka's own command line tools (C(kafka-topics.sh), C(kafka-configs.sh)), run inside the
    broker's container with C(docker exec) when O(container) is set, else on the managed host. Nothing
    needs to be installed besides Kafka; works with KRaft clusters of Kafka 3.x and 4.x.
  - Topics not in O(topics) are left alone.
  - M(keel.infra.kafka_topic) is the same for one topic.
author:
  - Keel maintainers (!UNKNOWN)
options:
  topics:
    description:
      - The topics, each with the options below. Names must be unique.
    type: list
    elements: dict
    required: true
    suboptions:
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
          - Only the configs named here are compared and changed; the topic's other configs are left alone.
        type: dict
        default: {}
extends_documentation_fragment:
  - keel.infra.kafka
  - keel.infra.container_exec
'''

EXAMPLES = r'''
- name: Keep ChiroERP's topics, 3 days of records each
  keel.infra.kafka_topics:
    topics:
      - name: finance.gl.journal-posted
        partitions: 6
        replication_factor: 3
        configs:
          retention.ms: 259200000
          min.insync.replicas: 2
      - name: inventory.stock.level-changed
        configs:
          retention.ms: 259200000
          cleanup.policy: compact
      - name: legacy.events
        state: absent
    container: kafka-1

- name: Manage the topics of group_vars, through a broker on another host
  keel.infra.kafka_topics:
    topics: "{{ chiroerp_topics }}"
    bootstrap_server: broker1.example.net:9092
    command_config: /etc/kafka/admin.properties
'''

RETURN = r'''
changes:
  description: The changes of all topics (would be made, in check mode), one line per change.
  returned: always
  type: list
  elements: str
  sample:
    - "create topic sales.order.created"
    - "raise partitions of inventory.stock.reserved to 6"
topics:
  description: One entry per topic of O(topics), in their order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Topic name.
      type: str
    state:
      description: The state asked for.
      type: str
    changed:
      description: Whether the topic was (would be, in check mode) changed.
      type: bool
    changes:
      description: What was done to the topic (would be done, in check mode), one line per change.
      type: list
      elements: str
    commands:
      description: The Kafka tool commands that changed the topic (would change it, in check mode).
      type: list
      elements: list
    topic:
      description: The topic as it is after the task (as it would be, in check mode); empty when absent.
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
    - name: finance.gl.journal-posted
      state: present
      changed: true
      changes: ["set configs of finance.gl.journal-posted: retention.ms=259200000"]
      commands: [["docker", "exec", "kafka-1", "/opt/kafka/bin/kafka-configs.sh", "..."]]
      topic:
        name: finance.gl.journal-posted
        partitions: 6
        replication_factor: 3
        configs:
          retention.ms: "259200000"
          min.insync.replicas: "2"
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
    module = AnsibleModule(
        argument_spec=dict(
            topics=dict(type='list', elements='dict', required=True, options=topic_argument_spec()),
            **tools_argument_spec()
        ),
        supports_check_mode=True,
    )

    def result(reports):
        out = dict(
            changed=any(report['changed'] for report in reports),
            topics=[dict((k, v) for k, v in report.items() if k != 'diff') for report in reports],
            changes=[line for report in reports for line in report['changes']],
        )
        if module._diff:
            changed = [report for report in reports if report['changed']]
            out['diff'] = dict(
                before=dict((r['name'], r['diff']['before']) for r in changed if r['diff']['before']),
                after=dict((r['name'], r['diff']['after']) for r in changed if r['diff']['after']),
            )
        return out

    reports = manage_topics(module, [wanted_topic(item) for item in module.params['topics']], result)
    module.exit_json(**result(reports))


if __name__ == '__main__':
    main()
