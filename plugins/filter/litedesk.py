# Copyright: Keel maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LiteDesk's instances as data: what the tenants' list asks for, checked, planned for one host, recorded.

Every LiteDesk instance is one Compose project (backend, frontend, database) on one host: the
shared instance (the seed's single-instance mode, organizations separated inside the
application) and, in the multi-instance mode, one instance per tenant. Three filters:

litedesk_errors    what is wrong with the tenants' list and the settings, one message each,
                   before anything changes
litedesk_plan      what this host runs and removes: each instance's port (kept in the host's
                   registry, stable when other tenants come and go), its compose definition and
                   limits, and the nginx sites and certbot certificates to serve and to remove
litedesk_registry  the host's registry after the run: tenant, host, created, images, URL,
                   health, retired (with the date and the final export)
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.keel.infra.plugins.module_utils import _rules

STATES = ("present", "absent")
MODES = ("shared", "multi")
SERVICES = ("backend", "frontend", "database")
TENANT_KEYS = ("name", "subdomain", "plan", "state", "host", "port", "purge")
# The database's user and database name inside every instance (each instance has its own server).
DB_NAME = "litedesk"
DATABASES = {
    "mongodb": {
        "data": "/data/db",
        "environment": {
            "MONGO_INITDB_ROOT_USERNAME": DB_NAME,
            "MONGO_INITDB_ROOT_PASSWORD": "${DATABASE_PASSWORD}",
            "MONGO_INITDB_DATABASE": DB_NAME,
        },
        "healthcheck": ["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"],
        "backend": {"MONGO_URI": "mongodb://%s:${DATABASE_PASSWORD}@database:27017/%s?authSource=admin"
                                 % (DB_NAME, DB_NAME)},
        "export": "archive.gz",
    },
    "postgres": {
        "data": "/var/lib/postgresql/data",
        "environment": {"POSTGRES_USER": DB_NAME, "POSTGRES_PASSWORD": "${DATABASE_PASSWORD}", "POSTGRES_DB": DB_NAME},
        "healthcheck": ["CMD", "pg_isready", "-U", DB_NAME, "-d", DB_NAME],
        "backend": {"DATABASE_URL": "postgresql://database:5432/%s" % DB_NAME,
                    "DATABASE_USER": DB_NAME, "DATABASE_PASSWORD": "${DATABASE_PASSWORD}"},
        "export": "pgdump",
    },
}


def _mapping(value, what):
    if not isinstance(value, Mapping):
        raise AnsibleFilterError("%s must be a mapping, got %r" % (what, value))
    return value


def _settings(settings):
    settings = _mapping(settings, "the litedesk settings")
    missing = sorted({"mode", "base_domain", "host", "hosts", "plans", "shared", "reserved"} - set(settings))
    if missing:
        raise AnsibleFilterError("the litedesk settings lack %s" % ", ".join(missing))
    return settings


def _instance(entry, settings, shared=False):
    """One instance with its defaults filled in: the shared one, or a tenant's."""
    name = entry.get("name")
    subdomain = entry.get("subdomain") or name
    server_name = "%s.%s" % (subdomain, settings["base_domain"])
    project = "%s%s" % (settings.get("stack_prefix", "litedesk-"), name)
    return {
        "name": name,
        "shared": shared,
        "subdomain": subdomain,
        "server_name": server_name,
        "url": "https://" + server_name,
        "plan": entry.get("plan"),
        "state": entry.get("state") or "present",
        "host": entry.get("host") or (list(settings["hosts"]) or [settings["host"]])[0],
        "port": entry.get("port"),
        "purge": entry.get("purge", False),
        "project": project,
        "volume": project + "-data",
    }


def _instances(tenants, settings):
    """The shared instance first, then the tenants' (in multi mode; in shared mode only those to remove)."""
    shared = _instance(settings["shared"], settings, shared=True)
    return [shared] + [_instance(tenant, settings) for tenant in tenants or []]


def _duplicates(values):
    seen, twice = set(), []
    for value in values:
        if value in seen and value not in twice:
            twice.append(value)
        seen.add(value)
    return twice


def _plan_errors(plans):
    errors = []
    if not isinstance(plans, Mapping) or not plans:
        return ["litedesk_plans must map plan names to limits {backend, frontend, database: {cpus, memory}}."]
    for plan, table in plans.items():
        services = sorted(table) if isinstance(table, Mapping) else []
        if services != sorted(SERVICES):
            errors.append("litedesk_plans: plan %s gives limits to %s; give exactly backend, frontend and database "
                          "each {cpus, memory}." % (plan, services or "nothing"))
            continue
        for service in SERVICES:
            limits = table[service]
            if not isinstance(limits, Mapping) or "cpus" not in limits or "memory" not in limits:
                errors.append("litedesk_plans: plan %s gives %s no cpus or no memory: give both (a service without "
                              "a limit may take the whole host)." % (plan, service))
                continue
            errors += _rules.input_errors([["litedesk_plans %s %s memory" % (plan, service), limits["memory"],
                                            "docker_size"]])
            try:
                cpus = float(limits["cpus"])
            except (TypeError, ValueError):
                cpus = 0
            if cpus <= 0 or isinstance(limits["cpus"], bool):
                errors.append("litedesk_plans %s %s cpus '%s' is not a number of processors above zero, such as 0.5."
                              % (plan, service, limits["cpus"]))
    return errors


def _shape_errors(tenants):
    """Tenants that cannot be read at all: no name, or keys the role does not know."""
    if not isinstance(tenants, (list, tuple)):
        return ["litedesk_tenants must be a list of tenants {name, subdomain, plan, state, host, port, purge}."]
    errors = []
    for index, tenant in enumerate(tenants, 1):
        if not isinstance(tenant, Mapping) or not tenant.get("name"):
            errors.append("litedesk_tenants: item %d %s has no name: give every tenant one." % (index, tenant))
        elif sorted(set(tenant) - set(TENANT_KEYS)):
            errors.append("litedesk_tenants: tenant %s has unknown keys %s (known: %s)."
                          % (tenant["name"], sorted(set(tenant) - set(TENANT_KEYS)), ", ".join(TENANT_KEYS)))
    return errors


def _instance_errors(instance, settings):
    """One instance's state, plan, host and purge."""
    what = "the shared instance (litedesk_shared_*)" if instance["shared"] else (
        "litedesk_tenants: tenant %s" % instance["name"])
    plans = settings["plans"]
    errors = []
    if instance["state"] not in STATES:
        errors.append("%s has state '%s': use present or absent." % (what, instance["state"]))
    if instance["state"] == "present" and isinstance(plans, Mapping) and instance["plan"] not in plans:
        errors.append("%s has plan '%s', which litedesk_plans does not define (plans: %s)."
                      % (what, instance["plan"], ", ".join(sorted(plans))))
    if instance["host"] not in settings["hosts"]:
        errors.append("%s is placed on host '%s', which is not a LiteDesk host (%s): set host to one of them."
                      % (what, instance["host"], ", ".join(settings["hosts"])))
    if not isinstance(instance["purge"], bool):
        errors.append("%s has purge '%s': use true or false." % (what, instance["purge"]))
    return errors


def _name_errors(instances, settings):
    """Names and subdomains: DNS labels, each once, none reserved or the shared instance's."""
    shared, own = instances[0], instances[1:]
    errors = _rules.input_errors(
        [["litedesk_base_domain", settings["base_domain"], "dns_name"],
         ["litedesk_shared_name", shared["name"], "dns_label"],
         ["litedesk_shared_subdomain", shared["subdomain"], "dns_label"]]
        + [["litedesk_tenants name", i["name"], "dns_label"] for i in own]
        + [["litedesk_tenants subdomain of %s" % i["name"], i["subdomain"], "dns_label"] for i in own
           if i["subdomain"] != i["name"]]
        + [["litedesk_tenants port of %s" % i["name"], i["port"], "port"] for i in own if i["port"] is not None])
    reserved = set(settings["reserved"]) | {shared["name"], shared["subdomain"]}
    for instance in own:
        taken = sorted({instance["name"], instance["subdomain"]} & reserved)
        if taken:
            errors.append("litedesk_tenants: tenant %s takes %s, reserved (the shared instance's name and "
                          "subdomain, and litedesk_reserved_names): choose another name or subdomain."
                          % (instance["name"], " and ".join(taken)))
    twice = _duplicates([i["name"] for i in own])
    if twice:
        errors.append("litedesk_tenants names %s more than once: each tenant once (a retired one stays, with "
                      "state: absent)." % ", ".join(twice))
    twice = _duplicates([i["subdomain"] for i in instances if i["state"] == "present"])
    if twice:
        errors.append("litedesk_tenants: the subdomain %s is wanted by more than one instance: give each its own."
                      % ", ".join(twice))
    return errors


def _mode_errors(instances, settings):
    """The shared mode runs the shared instance alone."""
    if settings["mode"] != "shared":
        return []
    shared, own = instances[0], instances[1:]
    errors = []
    present = [i["name"] for i in own if i["state"] == "present"]
    if present:
        errors.append("litedesk_mode is shared (one instance for every organization), but litedesk_tenants "
                      "wants instances for %s: set litedesk_mode to multi, or their state to absent."
                      % ", ".join(present))
    if shared["state"] != "present":
        errors.append("litedesk_mode is shared, but litedesk_shared_state is %s: the shared instance is the only "
                      "one; set it to present." % shared["state"])
    return errors


def litedesk_errors(tenants, settings, registry=None):
    """One message per problem of litedesk_tenants and the settings; [] when they can be planned.

    registry: this host's registry, for the instances it runs that the list no longer places here.
    """
    settings = _settings(settings)
    errors = _shape_errors(tenants)
    if errors:
        return errors
    if settings["mode"] not in MODES:
        return ["litedesk_mode '%s' is not a mode: use shared (one instance for every organization) or multi "
                "(an instance per tenant)." % settings["mode"]]
    instances = _instances(tenants, settings)
    errors = _name_errors(instances, settings) + _plan_errors(settings["plans"])
    for instance in instances:
        errors += _instance_errors(instance, settings)
    return errors + _mode_errors(instances, settings) + _registry_errors(instances, settings, registry)


def _registry_errors(instances, settings, registry):
    """Instances the host's registry runs that the list no longer places on this host."""
    if not registry:
        return []
    placed = {i["name"]: i["host"] for i in instances}
    wanted = {i["name"] for i in instances if i["state"] == "present" and i["host"] == settings["host"]}
    errors = []
    for name, entry in sorted(_mapping(registry, "the registry").get("instances", {}).items()):
        # Its data volume holds the other engine's files (kept on retirement, gone only with a purge).
        if name in wanted and "purged" not in entry and entry.get("database", settings.get("database")) != \
                settings.get("database"):
            errors.append("The registry of %s has instance %s on %s, and litedesk_database is %s: an instance's data "
                          "stays with the engine that wrote it. Keep litedesk_database, or retire the instance with "
                          "purge: true after its export, then add it again." % (
                              settings["host"], name, entry["database"], settings["database"]))
        if entry.get("state") != "present":
            continue
        if name not in placed:
            errors.append("The registry of %s runs instance %s, which litedesk_tenants no longer names: keep it "
                          "with state: absent to retire it (final export, then removal)." % (settings["host"], name))
        elif placed[name] != settings["host"]:
            errors.append("The registry of %s runs instance %s, which litedesk_tenants places on %s: moving an "
                          "instance is not supported; retire it here first (state: absent), or place it back."
                          % (settings["host"], name, placed[name]))
    return errors


def _ref(name):
    """A reference to a value of the stack's .env, which Compose fills in."""
    return "${%s}" % name


def _environment(values):
    """Compose environment values, with $ doubled: the user's values are taken literally."""
    return {key: str(value).replace("$", "$$") for key, value in values.items()}


def _definition(instance, settings):
    """The instance's compose definition: backend, frontend and database on the instance's own network."""
    database = DATABASES[settings["database"]]
    images = settings["images"]
    ports = settings["service_ports"]
    common = _environment(dict(settings.get("env") or {}, **{
        "TENANT_NAME": instance["name"],
        "INSTANCE_MODE": "shared" if instance["shared"] else "dedicated",
        # The application's own provisioner (Kubernetes, Atlas, Route 53) stays off: Keel provisions.
        "ENABLE_INSTANCE_PROVISIONING": "false",
        "PUBLIC_URL": instance["url"],
    }))
    backend = dict(common, LITEDESK_SERVICE="backend", PORT=str(ports["backend"]), JWT_SECRET=_ref("JWT_SECRET"),
                   **database["backend"])
    frontend = dict(common, LITEDESK_SERVICE="frontend", PORT=str(ports["frontend"]),
                    BACKEND_URL="http://backend:%s" % ports["backend"])
    services = {
        "backend": {"image": images["backend"], "restart": "unless-stopped", "environment": backend,
                    "depends_on": {"database": {"condition": "service_healthy"}}},
        "frontend": {"image": images["frontend"], "restart": "unless-stopped", "environment": frontend,
                     "depends_on": {"backend": {"condition": "service_started"}}},
        "database": {"image": images[settings["database"]], "restart": "unless-stopped",
                     "environment": dict(database["environment"]), "volumes": ["data:" + database["data"]],
                     "healthcheck": {"test": list(database["healthcheck"]), "interval": "5s", "timeout": "5s",
                                     "retries": 30, "start_period": "10s"}},
    }
    entry = settings.get("entry", "frontend")
    services[entry]["ports"] = ["%s:%s:%s" % (settings.get("bind_address", "127.0.0.1"), instance["port"],
                                              ports[entry])]
    return {
        "services": services,
        "networks": {"default": {"name": instance["project"]}},
        "volumes": {"data": {"name": instance["volume"]}},
    }


def _ports(instances, settings, registry, claims):
    """Each deployed instance's host port: its own, else the registry's, else the lowest free one of the range."""
    first, last = (int(p) for p in settings["ports"])
    recorded = (registry or {}).get("instances", {})
    used = {int(port) for _owner, port in claims or [] if port not in (None, "")}
    used |= {int(i["port"]) for i in instances if i["port"] is not None}
    used |= {int(e["port"]) for e in recorded.values() if e.get("state") == "present" and e.get("port")}
    ports = {}
    for instance in sorted(instances, key=lambda i: i["name"]):
        old = recorded.get(instance["name"], {})
        if instance["port"] is not None:
            ports[instance["name"]] = int(instance["port"])
        elif old.get("port") and (old.get("state") == "present" or int(old["port"]) not in used):
            ports[instance["name"]] = int(old["port"])
        else:
            free = [port for port in range(first, last + 1) if port not in used]
            if not free:
                raise AnsibleFilterError("No free port left in litedesk_ports %s-%s on %s for instance %s: widen "
                                         "the range." % (first, last, settings["host"], instance["name"]))
            ports[instance["name"]] = free[0]
        used.add(ports[instance["name"]])
    return ports


def _action(instance, recorded):
    """deploy, retire (final export, then removal), purge (the data of an instance retired before), or none."""
    if instance["state"] == "present":
        return "deploy"
    if recorded.get("state") == "present":
        return "retire"
    if instance["purge"] and recorded.get("state") == "retired" and not recorded.get("purged"):
        return "purge"
    return "none"


def litedesk_plan(tenants, settings, registry=None, claims=None):
    """What this host runs and removes, and what nginx and certbot get for it.

    settings: as for litedesk_errors, plus ports [first, last], database, images, service_ports, entry,
    bind_address, env, export_dir and now (the run's time, ISO 8601 in UTC). claims: [[owner, port], ...]
    of other services on this host, never given to an instance.
    """
    settings = _settings(settings)
    registry = registry or {}
    recorded = registry.get("instances", {})
    here = [i for i in _instances(tenants, settings) if i["host"] == settings["host"]]
    deployed = [i for i in here if i["state"] == "present"]
    ports = _ports(deployed, settings, registry, claims)
    stamp = str(settings.get("now", "")).replace("-", "").replace(":", "")
    plan = {"instances": [], "resources": {}, "ports": [], "nginx_sites": [], "nginx_sites_absent": [],
            "certbot_certificates": [], "certbot_certificates_absent": []}
    for instance in here:
        old = recorded.get(instance["name"], {})
        entry = dict(instance, action=_action(instance, old), database=settings["database"],
                     images={"backend": settings["images"]["backend"], "frontend": settings["images"]["frontend"],
                             "database": settings["images"][settings["database"]]})
        if entry["action"] == "deploy":
            entry["port"] = ports[instance["name"]]
            entry["limits"] = {s: dict(settings["plans"][instance["plan"]][s]) for s in SERVICES}
            entry["definition"] = _definition(entry, settings)
            plan["ports"].append(["LiteDesk %s" % instance["name"], entry["port"]])
            plan["resources"].update({"%s/%s" % (instance["name"], s): entry["limits"][s] for s in SERVICES})
            plan["nginx_sites"].append({"name": instance["project"], "server_names": [instance["server_name"]],
                                        "certificate": instance["project"],
                                        "proxy_pass": "http://127.0.0.1:%s" % entry["port"]})
            plan["certbot_certificates"].append({"name": instance["project"], "domains": [instance["server_name"]],
                                                 "reload_services": ["nginx"]})
        else:
            entry["port"] = old.get("port")
            plan["nginx_sites_absent"].append(instance["project"])
            plan["certbot_certificates_absent"].append(instance["project"])
        if entry["action"] == "retire":
            entry["export"] = "%s/%s/%s-%s.%s" % (settings.get("export_dir", "/var/backups/litedesk"),
                                                  instance["name"], instance["name"], stamp,
                                                  DATABASES[old.get("database", settings["database"])]["export"])
            entry["database"] = old.get("database", settings["database"])
        plan["instances"].append(entry)
    return plan


def _health(code):
    try:
        return "healthy" if 200 <= int(code) < 300 else "unhealthy"
    except (TypeError, ValueError):
        return "unhealthy"


def litedesk_registry(registry, entries, host, now, health=None):
    """The host's registry with the plan's entries applied (deploy, retire, purge); others stay as they were.

    health: {instance: HTTP status of its health check}; an instance's health and its `since` change
    only when the status does, so that a run that changes nothing else leaves the file as it was.
    """
    registry = registry or {}
    instances = {name: dict(entry) for name, entry in (registry.get("instances") or {}).items()}
    health = health or {}
    for entry in entries or []:
        name = entry["name"]
        old = instances.get(name, {})
        if entry["action"] == "deploy":
            fresh = old.get("state") != "present"
            record = {key: entry[key] for key in ("name", "shared", "host", "subdomain", "url", "port", "plan",
                                                  "database", "images")}
            record.update(state="present", created=now if fresh else old.get("created", now),
                          health=dict(old.get("health") or {}) if not fresh else {"status": "unknown", "since": now})
            if name in health and record["health"].get("status") != _health(health[name]):
                record["health"] = {"status": _health(health[name]), "since": now}
            instances[name] = record
        elif entry["action"] == "retire":
            instances[name] = dict(old, state="retired", retired=now, export=entry["export"],
                                   health={"status": "retired", "since": now})
            if entry["purge"]:
                instances[name]["purged"] = now
        elif entry["action"] == "purge":
            instances[name] = dict(old, purged=now)
    return {"format": 1, "host": host, "instances": dict(sorted(instances.items()))}


def litedesk_summary(registries):
    """One line per instance of the hosts' registries, by host then name: what a person reads after a run."""
    lines = []
    for found in registries or []:
        registry = _mapping(found, "a registry")
        for name, entry in sorted((registry.get("instances") or {}).items()):
            health = (entry.get("health") or {}).get("status", "unknown")
            lines.append("%s on %s: %s, %s, %s" % (name, entry.get("host", registry.get("host")),
                                                   entry.get("state", "unknown"), health,
                                                   entry.get("export") if entry.get("state") == "retired"
                                                   else entry.get("url")))
    return lines


class FilterModule(object):
    def filters(self):
        return {"litedesk_errors": litedesk_errors, "litedesk_plan": litedesk_plan,
                "litedesk_registry": litedesk_registry, "litedesk_summary": litedesk_summary}
