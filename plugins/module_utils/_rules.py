# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one vocabulary of input rules.

Each rule takes a value and returns None when the value is valid, else what is
wrong with it and what to set instead, as a sentence fragment that follows
"<variable> '<value>' ". Roles reach the rules through the filter
keel.infra.input_errors and the Jinja tests of plugins/test; modules import
them. A rule is written here once and nowhere else.
"""

import base64
import binascii
import ipaddress
import re
import struct

_SLUG = re.compile(r'^[a-z0-9][a-z0-9_-]*$')
_LOGIN_NAME = re.compile(r'^[a-z_][a-z0-9_-]{0,31}$')
# A DNS label: lowercase letters, digits and - (not first or last), 63 characters at most;
# a DNS name: labels with dots between, 253 characters at most.
_LABEL = r'[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?'
DNS_LABEL = re.compile(r'^%s$' % _LABEL)
DNS_NAME = re.compile(r'^(?=.{1,253}$)%s(\.%s)*$' % (_LABEL, _LABEL))
_FILE_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*$')
_SYSTEMD_SIZE = re.compile(r'^[1-9][0-9]*[KMGT]?$')
_SYSTEMD_TIMESPAN = re.compile(r'^[1-9][0-9]*(s|min|h|d|day|days|w|week|weeks|month|months|y|year|years)$')
_TIME_OF_DAY = re.compile(r'^([01][0-9]|2[0-3]):[0-5][0-9]$')
_CRYPT_HASH = re.compile(r'^\$[0-9a-z]+\$[^\s:]+$')
# Docker's own size syntax (go-units RAMInBytes: log-opts max-size, mem_limit, shm_size).
_DOCKER_SIZE = re.compile(r'^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$')
_JVM_SIZE = re.compile(r'^[1-9][0-9]*[kKmMgG]?$')
_PG_IDENTIFIER = re.compile(r'^[a-z_][a-z0-9_]{0,62}$')
_TZ_NAME = re.compile(r'^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$')
_EMAIL = re.compile(r'^[A-Za-z0-9.!#$%&*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
                    r'(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$')
_HTTP_URL = re.compile(r'^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/[^\s]*)?$')
_ENV_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')

# OpenSSH 9.8 and later refuse DSA keys; every other type OpenSSH signs with.
SSH_KEY_TYPES = (
    'ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
    'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
)


def _text(value):
    return value if isinstance(value, str) else None


def _or_empty(rule):
    """rule, with an empty value ('' or None) accepted: an option that is off when empty."""
    def either(value):
        return None if value in ('', None) else rule(value)
    either.__name__ = rule.__name__ + '_or_empty'
    return either


def _matching(name, pattern, reason):
    """A rule that accepts the strings pattern matches."""
    def rule(value):
        if _text(value) is None or not pattern.match(value):
            return reason
        return None
    rule.__name__ = name
    return rule


stack_name = _matching(
    'stack_name', _SLUG,
    "is not a stack name: use lowercase letters, digits, - and _, starting with a letter or digit")
slug = _matching(
    'slug', _SLUG,
    "is not a name Keel accepts here: use lowercase letters, digits, - and _, starting with a letter or digit")
file_name = _matching(
    'file_name', _FILE_NAME,
    "is not a file name: use letters, digits, ., - and _, starting with a letter or digit")
systemd_size = _matching(
    'systemd_size', _SYSTEMD_SIZE,
    "is not a size above zero: use a whole number with an optional unit K, M, G or T, such as 500M")
systemd_timespan = _matching(
    'systemd_timespan', _SYSTEMD_TIMESPAN,
    "is not a time span above zero: use a number and a unit such as 2weeks or 1month")
time_of_day = _matching(
    'time_of_day', _TIME_OF_DAY,
    "is not a time of day: use HH:MM in 24 hours, such as 04:30")
dns_label = _matching(
    'dns_label', DNS_LABEL,
    "is not a DNS label: use lowercase letters, digits and - (not first or last), at most 63 characters, "
    "such as acme or acme-2")
dns_name = _matching(
    'dns_name', DNS_NAME,
    "is not a DNS name: use labels of lowercase letters, digits and - (not first or last), "
    "separated by dots, such as backup1.example.net")
login_name = _matching(
    'login_name', _LOGIN_NAME,
    "is not a login name: use lowercase letters, digits, - and _, starting with a letter or _, "
    "at most 32 characters")
pg_identifier = _matching(
    'pg_identifier', _PG_IDENTIFIER,
    "is not a name Keel lets Postgres use: lowercase letters, digits and _, not starting with a "
    "digit, at most 63 characters")
tz_name = _matching(
    'tz_name', _TZ_NAME,
    "is not a tz database name: use a name such as Etc/UTC or Europe/Berlin")
email = _matching(
    'email', _EMAIL,
    "is not an e-mail address: use a form such as admin@example.net")
env_name = _matching(
    'env_name', _ENV_NAME,
    "is not an environment variable name: use letters, digits and _, not starting with a digit")


def boolean(value):
    # A survey's multiple choice gives the text 'true' or 'false'; anything else (yes, 1, on) is refused
    # rather than read by chance.
    if isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in ('true', 'false')):
        return None
    return "is neither true nor false: answer true or false"


def host(value):
    text = _text(value)
    if text:
        try:
            ipaddress.ip_address(text)
            return None
        except ValueError:
            pass
    if dns_name(value) is None:
        return None
    return "is not a host name or IP address: use a DNS name such as backup1.example.net, or an address"


def ip_network(value):
    """An IP address or a network in CIDR notation (host bits allowed: 10.1.2.3/8 is 10.0.0.0/8)."""
    try:
        ipaddress.ip_network(_text(value), strict=False)
        return None
    except ValueError:
        return "is not an IP address or network: use a form such as 127.0.0.1, 172.16.0.0/12 or fd00::/8"


def port(value):
    if isinstance(value, bool) or not str(value).isdigit() or not 1 <= int(value) <= 65535:
        return "is not a port: use a number from 1 to 65535"
    return None


def positive_int(value):
    if isinstance(value, bool) or not str(value).isdigit() or int(value) < 1:
        return "is not a positive whole number"
    return None


def docker_size(value):
    match = _DOCKER_SIZE.match(str(value)) if not isinstance(value, bool) else None
    try:
        number = float(match.group(1)) if match else 0
    except ValueError:
        number = 0
    if number <= 0:
        return "is not a size Docker accepts: use a number with an optional unit b, k, m or g, such as 10m"
    return None


def jvm_size(value):
    if isinstance(value, bool) or not _JVM_SIZE.match(str(value)):
        return "is not a JVM heap size: use a whole number with an optional unit k, m or g, such as 512m"
    return None


def http_url(value):
    text = _text(value)
    match = _HTTP_URL.match(text) if text else None
    if match is None or (match.group(2) and port(match.group(2)[1:]) is not None):
        return "is not an http:// or https:// address: use a form such as http://apt-cache.internal:3142"
    return None


def server_name(value):
    """A host name a web server answers to: a DNS name, or *. and a DNS name."""
    text = _text(value)
    if text and dns_name(text[2:] if text.startswith('*.') else text) is None:
        return None
    return "is not a server name: use a DNS name such as www.example.net, or a wildcard such as *.example.net"


def absolute_path(value):
    if _text(value) is None or not value.startswith('/') or '\n' in value:
        return "is not an absolute path: use a path starting with /"
    return None


def not_empty(value):
    if value is None or (hasattr(value, '__len__') and len(value) == 0):
        return "is empty: set it (secrets from Vault)"
    return None


def ssh_public_key(value):
    """One OpenSSH public key line: type, base64 key whose embedded type matches, optional comment."""
    text = _text(value)
    parts = text.strip().split(None, 2) if text and '\n' not in text.strip() else []
    wrong = ("is not an OpenSSH public key line: use one line 'TYPE BASE64 [comment]' of type %s"
             % ', '.join(SSH_KEY_TYPES))
    if len(parts) < 2:
        return wrong
    if parts[0] == 'ssh-dss':
        return "is a DSA key, which OpenSSH refuses since 9.8: use an ssh-ed25519 key"
    if parts[0] not in SSH_KEY_TYPES:
        return wrong
    try:
        blob = base64.b64decode(parts[1].encode('ascii'), validate=True)
        length = struct.unpack('>I', blob[:4])[0]
        embedded = blob[4:4 + length].decode('ascii')
    except (binascii.Error, struct.error, UnicodeError, ValueError):
        return wrong + ' (the key part is not valid base64 key data)'
    if embedded != parts[0]:
        return wrong + " (the key data is of type %s, the line says %s)" % (embedded, parts[0])
    return None


def ssh_authorized_key(value):
    """One authorized_keys line: any options, then a public key ssh_public_key accepts."""
    text = _text(value)
    words = text.split() if text else []
    for index, word in enumerate(words):
        if word in SSH_KEY_TYPES or word == 'ssh-dss':
            return ssh_public_key(' '.join(words[index:]))
    return ssh_public_key(text)


_crypt_hash = _matching(
    'crypt_hash', _CRYPT_HASH,
    "is not a crypt(3) password hash: use one such as $y$... or $6$... (mkpasswd), or leave it empty")
docker_size_or_empty = _or_empty(docker_size)
http_url_or_empty = _or_empty(http_url)
email_or_empty = _or_empty(email)
systemd_timespan_or_empty = _or_empty(systemd_timespan)
crypt_hash_or_empty = _or_empty(_crypt_hash)


RULES = dict((rule.__name__, rule) for rule in (
    stack_name, login_name, dns_name, host, ip_network, port, positive_int, docker_size, docker_size_or_empty, jvm_size,
    pg_identifier, tz_name, email, http_url, http_url_or_empty, absolute_path, env_name, not_empty,
    ssh_public_key, ssh_authorized_key, slug, file_name, server_name, systemd_size, systemd_timespan,
    systemd_timespan_or_empty, time_of_day, crypt_hash_or_empty, email_or_empty, dns_label, boolean,
))


def check(rule, value):
    """What is wrong with value under rule (a name of RULES), None when it is valid.

    A rule name ending in [] applies the rule to each item of a list.
    """
    each = rule.endswith('[]')
    name = rule[:-2] if each else rule
    if name not in RULES:
        raise ValueError('unknown input rule %r (known: %s)' % (rule, ', '.join(sorted(RULES))))
    if not each:
        return RULES[name](value)
    if not isinstance(value, (list, tuple)):
        return 'is not a list'
    for item in value:
        reason = RULES[name](item)
        if reason:
            return "has an item '%s' that %s" % (item, reason)
    return None


def input_errors(checks):
    """Messages for [name, value, rule] items whose value breaks its rule, in order.

    A fourth item 'secret' keeps the value out of the message (a password hash, a key).
    """
    errors = []
    for entry in checks:
        name, value, rule = entry[:3]
        secret = entry[3:] == ['secret'] or entry[3:] == ('secret',)
        if len(entry) == 4 and (not secret or rule.endswith('[]')):
            raise ValueError("the fourth item of an input check is 'secret', for a rule of one value: %r" % (entry,))
        reason = check(rule, value)
        if reason:
            shown = '(not shown)' if secret else value if rule.endswith('[]') else "'%s'" % (value,)
            errors.append('%s %s %s.' % (name, shown, reason))
    return errors
