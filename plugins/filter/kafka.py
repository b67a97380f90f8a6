# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kafka topic rules for the kafka role: the same code keel.infra.kafka_topics runs."""

from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.module_utils import _kafka


def _whole(value):
    if isinstance(value, bool):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def kafka_topic_errors(topics, node_count):
    """Every error in the declared topics (defaults filled in) on a cluster of node_count nodes."""
    if not isinstance(topics, list) or not all(isinstance(topic, dict) for topic in topics):
        raise AnsibleFilterError('kafka_topic_errors expects a list of topics ({name, partitions, ...})')
    errors = []
    wanted = []
    for topic in topics:
        name = str(topic.get('name') or '')
        item = dict(name=name, configs=topic.get('configs') or {})
        if topic.get('state', 'present') not in ('present', 'absent'):
            errors.append("topic %s: state must be present or absent, got %r" % (name, topic.get('state')))
        for key in ('partitions', 'replication_factor'):
            value = topic.get(key)
            item[key] = _whole(value) if value is not None else None
            if value is not None and item[key] is None:
                errors.append('topic %s: %s must be a whole number, got %r' % (name, key, value))
        if item['replication_factor'] is not None and item['replication_factor'] > int(node_count):
            errors.append('topic %s: replication_factor %d is more than the %d node(s) of the cluster'
                          % (name, item['replication_factor'], int(node_count)))
        wanted.append(item)
    return errors + _kafka.batch_errors(wanted)


class FilterModule(object):
    def filters(self):
        return {'kafka_topic_errors': kafka_topic_errors}
