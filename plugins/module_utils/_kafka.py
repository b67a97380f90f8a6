# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kafka topics managed through Kafka's own command line tools.

The modules keel.infra.kafka_topics and keel.infra.kafka_topic (its one-topic
form) run kafka-topics.sh and kafka-configs.sh (inside the broker's container or
on the host) and read what they print. The parsing and the decisions (what to
create, alter or refuse) are pure functions, tested against recorded tool
output; KafkaTools and manage_topics at the end run the tools: one describe for
all the topics of a task, then only the changes they need.
"""

import re

from ansible_collections.keel.infra.plugins.module_utils._container_exec import (
    ContainerExec,
    container_exec_argument_spec,
)

# Kafka's own rule (org.apache.kafka.common.internals.Topic): ASCII letters,
# digits, '.', '_' and '-', at most 249 characters, not '.' or '..'.
TOPIC_NAME_MAX = 249
_TOPIC_NAME_RE = re.compile(r'^[a-zA-Z0-9._-]+$')

# Integer configs for which -1 means "no limit" and anything lower is invalid.
_AT_LEAST_MINUS_ONE = ('retention.ms', 'retention.bytes', 'local.retention.ms', 'local.retention.bytes')


def topic_name_error(name):
    """Why Kafka would reject a topic name, or None when the name is valid."""
    if not name:
        return 'a topic name cannot be empty'
    if name in ('.', '..'):
        return "a topic name cannot be '.' or '..'"
    if len(name) > TOPIC_NAME_MAX:
        return 'topic name %r is %d characters long; Kafka allows at most %d' % (name, len(name), TOPIC_NAME_MAX)
    if not _TOPIC_NAME_RE.match(name):
        return ("topic name %r has characters Kafka rejects: only ASCII letters, digits, '.', '_' and '-' "
                'are allowed' % name)
    return None


def topic_pattern(name):
    """The --topic argument that matches exactly this topic.

    kafka-topics.sh reads --topic of --describe, --alter and --delete as a regular
    expression; of the characters a topic name may hold only '.' is special.
    """
    return name.replace('.', '\\.')


def topics_pattern(names):
    """The --topic argument that matches exactly these topics (one describe for all of them)."""
    return '|'.join(topic_pattern(name) for name in names)


def config_value(value):
    """A config value as Kafka's tools print it (booleans lowercase, lists joined by commas)."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return ','.join(config_value(v) for v in value)
    return str(value)


def normalize_configs(configs):
    """Configs as {name: string value}, the form they are compared in."""
    return dict((str(k), config_value(v)) for k, v in (configs or {}).items())


def config_errors(configs):
    """Errors in config values that Kafka would reject, found before anything is changed."""
    errors = []
    for key, value in sorted(normalize_configs(configs).items()):
        if not key or '=' in key or ',' in key or key.strip() != key:
            errors.append('config name %r is not a valid Kafka config name' % key)
            continue
        if key in _AT_LEAST_MINUS_ONE or key == 'min.insync.replicas':
            try:
                number = int(value)
            except ValueError:
                errors.append('config %s must be an integer, got %r' % (key, value))
                continue
            if key == 'min.insync.replicas' and number < 1:
                errors.append('config min.insync.replicas must be at least 1, got %d' % number)
            elif key != 'min.insync.replicas' and number < -1:
                errors.append('config %s must be -1 (no limit) or more, got %d' % (key, number))
    return errors


def parse_config_list(text):
    """Parse 'a=1,cleanup.policy=compact,delete,b=2' into a dict.

    Values may contain commas (list configs); a piece without '=' belongs to the
    value before it.
    """
    configs = {}
    key = None
    for piece in text.split(','):
        if '=' in piece:
            key, value = piece.split('=', 1)
            key = key.strip()
            configs[key] = value
        elif key is not None:
            configs[key] += ',' + piece
    return configs


def parse_describe(output):
    """Read `kafka-topics.sh --describe` output into {name: topic}.

    The summary line of a topic is tab-separated 'Key: value' fields:
    Topic, TopicId, PartitionCount, ReplicationFactor and Configs (the
    configs that differ from Kafka's defaults). Partition lines and tool
    warnings are skipped.
    """
    topics = {}
    for line in output.splitlines():
        if not line.startswith('Topic:'):
            continue
        fields = {}
        for field in line.split('\t'):
            if ':' in field:
                key, value = field.split(':', 1)
                fields[key.strip()] = value.strip()
        if not fields.get('Topic') or 'PartitionCount' not in fields:
            continue
        topics[fields['Topic']] = {
            'name': fields['Topic'],
            'topic_id': fields.get('TopicId'),
            'partitions': int(fields['PartitionCount']),
            'replication_factor': int(fields['ReplicationFactor']),
            'configs': parse_config_list(fields.get('Configs', '')),
        }
    return topics


def tool_error(stdout, stderr):
    """The one line that says why a Kafka tool failed."""
    for line in (stdout or '').splitlines() + (stderr or '').splitlines():
        if line.startswith('Error while executing') or 'Exception:' in line:
            return line.strip()
    lines = [line.strip() for line in (stderr or stdout or '').splitlines() if line.strip()]
    return lines[-1] if lines else 'no output'


def config_argument(configs):
    """The --add-config value of kafka-configs.sh: values with commas in brackets."""
    parts = []
    for key, value in sorted(configs.items()):
        parts.append('%s=[%s]' % (key, value) if ',' in value else '%s=%s' % (key, value))
    return ','.join(parts)


def input_errors(current, wanted):
    """What is wrong with the declared topic itself, whatever the cluster holds."""
    errors = []
    name = wanted['name']
    name_error = topic_name_error(name)
    if name_error:
        errors.append(name_error)
    configs = normalize_configs(wanted.get('configs'))
    errors.extend('topic %s: %s' % (name, error) for error in config_errors(configs))
    partitions = wanted.get('partitions')
    replication = wanted.get('replication_factor')
    if partitions is not None and partitions < 1:
        errors.append('topic %s: partitions must be at least 1, got %d' % (name, partitions))
    if replication is not None and replication < 1:
        errors.append('topic %s: replication_factor must be at least 1, got %d' % (name, replication))
    min_isr = configs.get('min.insync.replicas')
    rf_for_isr = replication if replication is not None else (current or {}).get('replication_factor')
    if min_isr and rf_for_isr and min_isr.isdigit() and int(min_isr) > rf_for_isr:
        errors.append('topic %s: min.insync.replicas=%s is more than its replication factor %d, so no '
                      'write with acks=all could succeed' % (name, min_isr, rf_for_isr))
    return errors


def plan_topic(current, wanted):
    """Decide what to do with one topic.

    current: parse_describe() result or None when the topic does not exist.
    wanted: dict with name, state ('present' or 'absent'), partitions and
    replication_factor (int or None: leave to the cluster's defaults on create,
    do not compare afterwards) and configs ({name: value}).

    Returns (actions, errors). Actions are tuples: ('create',), ('partitions',
    new count), ('configs', {name: new value}), ('delete',). When errors is not
    empty nothing may be done.
    """
    errors = input_errors(current, wanted)
    name = wanted['name']
    configs = normalize_configs(wanted.get('configs'))
    partitions = wanted.get('partitions')
    replication = wanted.get('replication_factor')
    if errors:
        return [], errors

    if wanted.get('state', 'present') == 'absent':
        return ([('delete',)] if current else []), []
    if current is None:
        return [('create',)], []

    actions = []
    if partitions is not None:
        if partitions < current['partitions']:
            errors.append(
                'topic %s has %d partitions and %d were asked for: Kafka can only add partitions, never '
                'remove them (records are spread over them by key). Keep partitions at %d or more, or '
                'create a new topic and move the consumers to it.'
                % (name, current['partitions'], partitions, current['partitions']))
        elif partitions > current['partitions']:
            actions.append(('partitions', partitions))
    if replication is not None and replication != current['replication_factor']:
        errors.append(
            'topic %s has replication factor %d and %d was asked for: changing it needs a partition '
            'reassignment (kafka-reassign-partitions.sh), which this module does not do.'
            % (name, current['replication_factor'], replication))
    changed = dict((k, v) for k, v in configs.items() if current['configs'].get(k) != v)
    if changed:
        actions.append(('configs', changed))
    if errors:
        return [], errors
    return actions, []


def topic_view(topic, config_keys):
    """What diff output shows of a topic: counts and the configs the task manages."""
    if topic is None:
        return {}
    return {
        'name': topic['name'],
        'partitions': topic['partitions'],
        'replication_factor': topic['replication_factor'],
        'configs': dict((k, topic['configs'][k]) for k in sorted(config_keys) if k in topic['configs']),
    }


def apply_plan(current, wanted, actions):
    """The topic as it will be once the actions are done (for the result and diff)."""
    if wanted.get('state', 'present') == 'absent':
        return None
    configs = normalize_configs(wanted.get('configs'))
    if current is None:
        return {
            'name': wanted['name'],
            'topic_id': None,
            'partitions': wanted.get('partitions'),
            'replication_factor': wanted.get('replication_factor'),
            'configs': configs,
        }
    after = dict(current)
    after['configs'] = dict(current['configs'])
    for action in actions:
        if action[0] == 'partitions':
            after['partitions'] = action[1]
        elif action[0] == 'configs':
            after['configs'].update(action[1])
    return after


def batch_errors(wanted):
    """What is wrong with a list of declared topics, whatever the cluster holds."""
    errors = []
    for topic in wanted:
        errors.extend(input_errors(None, topic))
    names = [topic['name'] for topic in wanted]
    for name in sorted(set(n for n in names if names.count(n) > 1)):
        errors.append('topic %s is declared more than once' % name)
    return errors


def plan_topics(current, wanted):
    """plan_topic() for every declared topic against current ({name: topic}).

    Returns (actions of each topic in the order of wanted, errors of all topics);
    when errors is not empty no topic may be changed.
    """
    plans = []
    errors = []
    for topic in wanted:
        actions, topic_errors = plan_topic(current.get(topic['name']), topic)
        plans.append(actions)
        errors.extend(topic_errors)
    return plans, errors


def action_commands(wanted, actions):
    """The tool runs, as (tool, args, description), that carry out one topic's actions."""
    name = wanted['name']
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
                             'set configs of %s: %s' % (
                                 name, ', '.join('%s=%s' % kv for kv in sorted(action[1].items())))))
        elif action[0] == 'delete':
            commands.append(('kafka-topics.sh', ['--delete', '--topic', topic_pattern(name), '--if-exists'],
                             'delete topic %s' % name))
    return commands


# The modules' options. A topic's own options are the same for kafka_topic and
# for each item of kafka_topics' list; the tool options are documented by the
# keel.infra.kafka doc fragment.

def topic_argument_spec():
    """Options of one topic (kafka_topic, and each item of kafka_topics' topics)."""
    return dict(
        name=dict(type='str', required=True, aliases=['topic']),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        partitions=dict(type='int'),
        replication_factor=dict(type='int'),
        configs=dict(type='dict', default={}),
    )


def tools_argument_spec():
    """Options of where and how the tools run (doc fragments keel.infra.kafka and keel.infra.container_exec)."""
    spec = dict(
        bootstrap_server=dict(type='str', default='localhost:9092'),
        kafka_bin=dict(type='path', default='/opt/kafka/bin'),
        command_config=dict(type='path'),
        tool_env=dict(type='dict', default={
            'KAFKA_HEAP_OPTS': '-Xmx128M',
            'KAFKA_JVM_PERFORMANCE_OPTS': '-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto',
        }),
    )
    spec.update(container_exec_argument_spec())
    return spec


def wanted_topic(params):
    """A topic's options (module parameters or a list item) as plan_topic() reads them."""
    return dict((key, params.get(key)) for key in topic_argument_spec())


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


def manage_topics(module, wanted, result):
    """Bring the declared topics to their state; returns one report per topic, in their order.

    Every topic is checked - its own input first, then against the cluster, from one
    describe - before any is changed, so one refused topic leaves all of them as they
    are. A report says what was done (would be done, in check mode): name, state,
    changed, changes, commands, topic (as it is after) and diff (before and after).
    result(reports) makes the module's return value; failures carry it too.
    """
    errors = batch_errors(wanted)
    if errors:
        module.fail_json(msg='; '.join(errors), **result([]))

    tools = KafkaTools(module)
    names = [topic['name'] for topic in wanted]
    rc, out, err = tools.tool('kafka-topics.sh', ['--describe', '--topic', topics_pattern(names), '--if-exists'])
    if rc != 0:
        module.fail_json(msg='could not describe topics %s: %s' % (', '.join(names), tool_error(out, err)),
                         rc=rc, stdout=out, stderr=err, **result([]))
    found = parse_describe(out)
    current = dict((name, found[name]) for name in names if name in found)
    plans, errors = plan_topics(current, wanted)
    if errors:
        module.fail_json(msg='; '.join(errors), **result([]))

    reports = []
    runs = []
    for index, topic in enumerate(wanted):
        actions = plans[index]
        before = current.get(topic['name'])
        after = apply_plan(before, topic, actions)
        commands = action_commands(topic, actions)
        keys = normalize_configs(topic.get('configs')).keys()
        reports.append(dict(
            name=topic['name'],
            state=topic.get('state') or 'present',
            changed=bool(commands),
            changes=[description for _tool, _args, description in commands],
            commands=[tools.tool_argv(tool, args) for tool, args, _description in commands],
            topic=after or {},
            diff=dict(before=topic_view(before, keys), after=topic_view(after, keys)),
        ))
        runs.append(commands)
    if module.check_mode:
        return reports

    for index, commands in enumerate(runs):
        for done, (tool, args, description) in enumerate(commands):
            rc, out, err = tools.tool(tool, args)
            if rc != 0:
                # Report what was done: the topics before this one, and this one's changes so far.
                partial = dict(reports[index], changed=done > 0, changes=reports[index]['changes'][:done],
                               commands=reports[index]['commands'][:done])
                module.fail_json(msg='could not %s: %s' % (description, tool_error(out, err)), rc=rc,
                                 stdout=out, stderr=err, **result(reports[:index] + [partial]))
    return reports
