"""AWX's rules for the definitions under awx/, checked offline (no AWX server).

Each function returns a list of error strings (empty: AWX would accept the item). The rules follow
AWX 24.6.1, read from its source; each function names the file it follows:
- awx/api/views/__init__.py: JobTemplateSurveySpec._validate_spec_data (survey spec shape and
  defaults) and JobTemplateCredentialsList.is_valid_relation (one credential per type, kinds a job
  template takes);
- awx/main/models/mixins.py: SurveyJobTemplateMixin._survey_element_validation (answer types);
- awx/main/constants.py: SURVEY_TYPE_MAPPING, ENV_BLOCKLIST;
- awx/main/fields.py: CredentialTypeInputField and CredentialTypeInjectorField;
- awx/api/serializers.py: CredentialTypeSerializer.validate (custom types are cloud or net);
- awx/main/models/credential/__init__.py: the managed types (Machine's inputs), and how an injector
  is rendered (Jinja, one file per `template.<name>`, `tower.filename.<name>` for its path).
The module options come from `ansible-doc --json awx.awx.<module>` (its argument spec).
"""

import re

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# awx/main/constants.py
SURVEY_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                "integer": int, "float": (float, int)}
ENV_BLOCKLIST = {"VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID",
                 "INVENTORY_UPDATE_ID", "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES",
                 "CALLBACK_QUEUE", "CALLBACK_CONNECTION", "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS",
                 "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH"}
# awx/main/models/credential/__init__.py: the managed types the definitions use, with their kind and inputs.
MANAGED_TYPES = {
    "Machine": ("ssh", {"username", "password", "ssh_key_data", "ssh_public_key_data", "ssh_key_unlock",
                        "become_method", "become_username", "become_password"}),
    "Vault": ("vault", {"vault_password", "vault_id"}),
}
MACHINE_SECRETS = {"password", "ssh_key_data", "ssh_key_unlock", "become_password"}
# awx/api/views/__init__.py, JobTemplateCredentialsList.is_valid_relation
TEMPLATE_KINDS = {"ssh", "vault", "cloud", "net", "kubernetes"}

NAME = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")
FILE_KEY = re.compile(r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$")
EXTRA_VARS_KEY = re.compile(r"^[a-zA-Z_{}]+[a-zA-Z0-9_{}]*$")
FIELD_KEYS = {"id", "label", "type", "format", "choices", "help_text", "multiline", "secret", "ask_at_runtime",
              "default"}
# ansible-doc option types -> the Python types a literal YAML value may have.
DOC_TYPES = {"str": str, "path": str, "bool": bool, "int": int, "float": (int, float), "dict": dict, "list": list}


def module_errors(item, options):
    """An item against a module's options (``ansible-doc --json``: name -> {type, required, choices, elements})."""
    errors = ["unknown option %r" % key for key in item if key not in options]
    errors += ["missing required option %r" % name for name, spec in options.items()
               if spec.get("required") and name not in item]
    for key, value in item.items():
        spec = options.get(key)
        if spec is None:
            continue
        expected = DOC_TYPES.get(spec.get("type", "str"))
        if expected and (not isinstance(value, expected) or (expected is int and isinstance(value, bool))):
            errors.append("%s: %r is no %s" % (key, value, spec.get("type", "str")))
        elif spec.get("choices") and value not in spec["choices"]:
            errors.append("%s: %r is not one of %s" % (key, value, spec["choices"]))
        elif spec.get("type") == "list" and spec.get("elements") in DOC_TYPES:
            errors += ["%s: %r is no %s" % (key, element, spec["elements"]) for element in value
                       if not isinstance(element, DOC_TYPES[spec["elements"]])]
    return errors


def choices_of(question):
    """A question's choices as a list (AWX also takes one string, a choice per line)."""
    choices = question.get("choices", [])
    return [c for c in choices.splitlines() if c.strip()] if isinstance(choices, str) else list(choices)


def answer_errors(question, answers):
    """An answer (or a default) as AWX types it when a job is launched (mixins.py _survey_element_validation)."""
    variable, kind = question["variable"], question["type"]
    if variable not in answers:
        return ["%r value missing" % variable] if question["required"] else []
    value = answers[variable]
    if kind in ("multiplechoice", "multiselect"):
        if kind == "multiselect" and not isinstance(value, list):
            return ["%r: %r is no list" % (variable, value)]
        return ["%r: %r is not one of %s" % (variable, v, choices_of(question))
                for v in (value if kind == "multiselect" else [value]) if v not in choices_of(question)]
    allowed = {"integer": (int,), "float": (int, float)}.get(kind, (str,))
    if type(value) not in allowed:
        return ["%r: %r is no %s" % (variable, value, "string" if allowed == (str,) else kind)]
    size = len(value) if isinstance(value, str) else value
    low, high = question.get("min"), question.get("max")
    errors = []
    if low not in ("", None) and size < low:
        errors.append("%r: %r is below its min %s" % (variable, value, low))
    if high not in ("", None) and size > high:
        errors.append("%r: %r is above its max %s" % (variable, value, high))
    return errors


def question_errors(where, question):
    """One survey question: its type, default, limits and choices."""
    kind = question["type"]
    if kind not in SURVEY_TYPES:
        return ["%s: type %r is none of %s" % (where, kind, sorted(SURVEY_TYPES))]
    default = question.get("default", "")
    if default != "" and not isinstance(default, SURVEY_TYPES[kind]):
        return ["%s: default %r does not fit type %s" % (where, default, kind)]
    errors = ["%s: %s %r is no integer" % (where, key, question[key]) for key in ("min", "max")
              if question.get(key) is not None and not isinstance(question[key], int)]
    if kind in ("multiplechoice", "multiselect"):
        if "choices" not in question:
            return errors + ["%s: a %s question needs choices" % (where, kind)]
        defaults = [d for d in default.splitlines() if d.strip()]
        if kind == "multiplechoice" and len(defaults) > 1:
            errors.append("%s: a multiplechoice question has one default" % where)
        errors += ["%s: default %r is not a choice" % (where, d) for d in defaults if d not in choices_of(question)]
        default = defaults if kind == "multiselect" else default
    if default != "" and not errors:
        errors += ["%s: default: %s" % (where, e) for e in answer_errors(question, {question["variable"]: default})]
    return errors


def survey_errors(survey):
    """A survey spec as AWX takes it (views/__init__.py _validate_spec_data), its defaults as answers."""
    errors = ["%r: missing or no %s" % (field, kind.__name__) for field, kind in
              (("name", str), ("description", str), ("spec", list)) if not isinstance(survey.get(field), kind)]
    if errors or not survey["spec"]:
        return errors or ["'spec' has no question"]
    seen = set()
    for index, question in enumerate(survey["spec"]):
        where = "question %d" % index
        if not isinstance(question, dict):
            errors.append("%s is no mapping" % where)
            continue
        missing = ["%s: %r missing or no %s" % (where, field, kind.__name__) for field, kind in
                   (("type", str), ("question_name", str), ("variable", str), ("required", bool))
                   if not isinstance(question.get(field), kind)]
        if missing:
            errors += missing
            continue
        if question["variable"] in seen:
            errors.append("%s: variable %r asked twice" % (where, question["variable"]))
        seen.add(question["variable"])
        errors += question_errors(where, question)
    return errors


def credential_type_errors(credential_type):
    """A custom type's kind, inputs and injectors (fields.py CredentialType*Field, serializers.py)."""
    errors = []
    if credential_type.get("kind") not in ("cloud", "net"):
        errors.append("kind %r: a custom credential type is cloud or net" % credential_type.get("kind"))
    inputs = credential_type.get("inputs", {})
    errors += ["inputs: unknown key %r" % key for key in inputs if key not in ("fields", "required")]
    ids = []
    for field in inputs.get("fields", []):
        errors += ["field %r: unknown key %r" % (field.get("id"), key) for key in field if key not in FIELD_KEYS]
        errors += ["field %r: no %s" % (field.get("id"), key) for key in ("id", "label") if key not in field]
        field_id, kind = field.get("id", ""), field.get("type", "string")
        if not NAME.match(field_id) or field_id == "tower" or field_id in ids:
            errors.append("field id %r: invalid, reserved or repeated" % field_id)
        ids.append(field_id)
        if kind not in ("string", "boolean"):
            errors.append("field %r: type %r is neither string nor boolean" % (field_id, kind))
        if field.get("format", "url") not in ("ssh_private_key", "url"):
            errors.append("field %r: unknown format %r" % (field_id, field["format"]))
        if kind != "string":
            errors += ["field %r: %s only on a string" % (field_id, key)
                       for key in ("choices", "multiline", "format", "secret") if key in field]
        wanted_type = {"string": str, "boolean": bool}.get(kind)
        # bool is an int, and True no str: only the exact type counts (AWX checks JSON types).
        if "default" in field and (wanted_type is None or not isinstance(field["default"], wanted_type)):
            errors.append("field %r: default %r is no %s" % (field_id, field["default"], kind))
    errors += ["required %r is no field" % name for name in inputs.get("required", []) if name not in ids]
    return errors + injector_errors(credential_type.get("injectors", {}), ids)


def injector_errors(injectors, field_ids):
    """Injector keys and templates: every template renders with the type's fields and its own file names."""
    errors = ["injectors: unknown key %r" % key for key in injectors if key not in ("file", "env", "extra_vars")]
    files = injectors.get("file", {})
    errors += ["file: invalid key %r" % key for key in files if not FILE_KEY.match(key)]
    if "template" in files and len(files) > 1:
        errors.append("file: one unnamed `template`, or only `template.<name>` keys")

    class Names:
        pass

    tower = Names()
    tower.filename = "/runner/env/EXAMPLE"
    if "template" not in files and files:
        tower.filename = Names()
        for key in files:
            setattr(tower.filename, key.partition(".")[2], "/runner/env/EXAMPLE")
    namespace = dict.fromkeys(field_ids, "EXAMPLE")
    namespace["tower"] = tower
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)

    def render(where, template):
        if not isinstance(template, str):
            return ["%s: %r is no string" % (where, template)]
        try:
            env.from_string(template).render(namespace)
        except (UndefinedError, SecurityError, TemplateSyntaxError) as error:
            return ["%s: %s" % (where, error)]
        return []

    for key, template in files.items():
        errors += render("file " + key, template)
    for key, template in injectors.get("env", {}).items():
        if not NAME.match(key) or key.startswith("ANSIBLE_") or key in ENV_BLOCKLIST:
            errors.append("env %r: invalid or not allowed in a credential" % key)
        elif not template.isascii():
            errors.append("env %r: not ASCII" % key)
        errors += render("env " + key, template)

    def walk(where, node):
        if isinstance(node, dict):
            found = []
            for key, value in node.items():
                if not EXTRA_VARS_KEY.match(key):
                    found.append("extra_vars %s: invalid key %r" % (where, key))
                found += walk("%s.%s" % (where, key) if where else key, value)
            return found
        if isinstance(node, list):
            return [e for i, value in enumerate(node) for e in walk("%s[%d]" % (where, i), value)]
        return render("extra_vars " + where, node)

    return errors + walk("", injectors.get("extra_vars", {}))


def template_credential_errors(credential_names, credentials, credential_types):
    """At most one credential per type on a job template, of a kind it takes (views/__init__.py)."""
    errors, seen = [], {}
    for name in credential_names:
        if name not in credentials:
            errors.append("credential %r is not defined" % name)
            continue
        credential = credentials[name]
        type_name = credential["credential_type"]
        kind = MANAGED_TYPES[type_name][0] if type_name in MANAGED_TYPES else credential_types[type_name]["kind"]
        if kind not in TEMPLATE_KINDS:
            errors.append("credential %r: a job template takes no %s credential" % (name, kind))
        # A vault credential is unique per vault_id, every other one per type (Credential.unique_hash).
        key = (type_name, credential.get("inputs", {}).get("vault_id") if kind == "vault" else None)
        if key in seen:
            errors.append("%r and %r are both of type %r: AWX holds one per type" % (seen[key], name, type_name))
        seen[key] = name
    return errors


def credential_errors(credential, credential_types):
    """A credential's inputs against its type's fields; every secret a CHANGE-ME placeholder."""
    type_name = credential["credential_type"]
    if type_name in MANAGED_TYPES:
        known, required, secrets = MANAGED_TYPES[type_name][1], set(), MACHINE_SECRETS & MANAGED_TYPES[type_name][1]
    elif type_name in credential_types:
        fields = credential_types[type_name].get("inputs", {}).get("fields", [])
        known = {f["id"] for f in fields}
        required = set(credential_types[type_name].get("inputs", {}).get("required", []))
        secrets = {f["id"] for f in fields if f.get("secret")}
    else:
        return ["credential type %r is not defined" % type_name]
    inputs = credential.get("inputs", {})
    errors = ["input %r is no field of %r" % (key, type_name) for key in inputs if key not in known]
    errors += ["required input %r missing" % key for key in sorted(required - set(inputs))]
    errors += ["secret input %r is no CHANGE-ME placeholder" % key for key in sorted(secrets & set(inputs))
               if not str(inputs[key]).startswith("CHANGE-ME")]
    return errors


def question_fit_errors(question, option=None, play_default=None, reads_as_bool=False, reads_as_list=False):
    """Whether an answer of this question's type is what the variable takes.

    ``option``: the variable's role argument spec, if a role takes it; ``play_default``: its value in the
    playbook's play vars, if the playbook reads it itself; ``reads_as_bool``: the playbook checks it as true or
    false (the input rule ``boolean``) and reads it through ``| bool``; ``reads_as_list``: the playbook reads it
    through ``| keel.infra.answer_list``, which splits a text answer into items. A question only carries a
    string, an int, a float or (multiselect) a list of strings.
    """
    kind, variable = question["type"], question["variable"]
    if option is not None:
        wanted = option.get("type", "str")
        allowed = {"str": {"text", "textarea", "password", "multiplechoice"}, "path": {"text"},
                   "int": {"integer"}, "float": {"float", "integer"}, "list": {"multiselect"}}.get(wanted, set())
        if option.get("choices"):
            allowed &= {"multiplechoice", "multiselect"}
        if kind not in allowed:
            with_choices = " with choices" if option.get("choices") else ""
            return ["%r is a %s%s: a %s question does not fit" % (variable, wanted, with_choices, kind)]
        return ["%r: choice %r is not one the role takes" % (variable, c) for c in choices_of(question)
                if option.get("choices") and c not in option["choices"]]
    if isinstance(play_default, bool) and not (
            reads_as_bool and kind == "multiplechoice" and set(choices_of(question)) <= {"true", "false"}):
        return ["%r is a boolean: ask it as multiplechoice true/false, check it with the input rule boolean "
                "and read it with | bool" % variable]
    if isinstance(play_default, list) and kind != "multiselect" and not (
            reads_as_list and kind in ("text", "textarea")):
        return ["%r is a list: a %s answer is a string (read it through keel.infra.answer_list to take a text)"
                % (variable, kind)]
    return []
