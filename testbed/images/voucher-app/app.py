"""voucher-app: a stand-in for the 5SOffice backend and chain listener, for deployment tests.

It proves the wiring a deployment gives the application, nothing of vouchers, wallets or
contracts. APP_MODE picks what it is:

backend (HTTP on SERVER_PORT)
  POST /orders               writes an order (its hash made here) into the public schema
  GET  /orders/<hash>        the order and its status: PENDING, VALID once the listener recorded
                             its redemption CONFIRMATIONS blocks deep, DELIVERED
  POST /orders/<hash>/deliver  VALID -> DELIVERED, with a row in audit_log (409 otherwise)
  GET  /listener             the listener's progress, read from its schema (connected: it
                             reached the chain in the last LISTENER_STALE_SECONDS)
  GET  /health               200 when the database answers, else 503
listener (no port)
  polls RPC_URL (JSON-RPC eth_blockNumber, eth_getLogs for CONTRACT_ADDRESS), takes only
  blocks CONFIRMATIONS deep, writes redemptions and its progress into CHAIN_SCHEMA, and
  retries with a growing pause when the endpoint fails
chain (HTTP on SERVER_PORT), for tests only
  a JSON-RPC stub: one block every BLOCK_SECONDS; POST /redeem {"order_hash": ...} puts a
  redemption event into the next block

The database: DATABASE_URL (postgresql://host:port/name), DATABASE_USER, DATABASE_PASSWORD.
Or SQLite, the one-VPS option: DATABASE_URL=sqlite:////data/orders.db (sqlite:/// and an
absolute path); the backend and the listener then share that one file, in WAL mode, each
waiting up to SQLITE_BUSY_SECONDS (30) for the other's lock. SQLite has no schemas: the
listener's tables are CHAIN_SCHEMA_progress and CHAIN_SCHEMA_redemptions. The image runs
as uid 10001 (user voucher, group 10001): the file's folder, a bind mount from the host,
must belong to that uid, which then owns the file and its -wal and -shm files too.
"""

import contextlib
import json
import os
import sqlite3
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
from psycopg2 import sql

MODE = os.environ.get("APP_MODE", "backend")
PORT = int(os.environ.get("SERVER_PORT", "8080"))
SCHEMA = os.environ.get("CHAIN_SCHEMA", "chain")
CONFIRMATIONS = int(os.environ.get("CONFIRMATIONS", "3"))
STALE = int(os.environ.get("LISTENER_STALE_SECONDS", "30"))
# The stand-in's event id: a real contract's topic is the keccak hash of the event's signature.
REDEEMED = "0x" + "5e" * 32
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://localhost:5432/postgres")
# sqlite:////data/orders.db -> /data/orders.db; None for Postgres.
SQLITE = DATABASE_URL[len("sqlite:///"):] if DATABASE_URL.startswith("sqlite:") else None
SQLITE_BUSY_SECONDS = float(os.environ.get("SQLITE_BUSY_SECONDS", "30"))
# The SQL that differs: the time now (SQLite keeps it as ISO text in UTC) and a row's age in seconds.
NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')" if SQLITE else "now()"


def age_sql(column):
    if SQLITE:
        return "(julianday('now') - julianday(%s)) * 86400.0" % column
    return "extract(epoch FROM now() - %s)" % column


def connect():
    if SQLITE:
        return sqlite3.connect(SQLITE, timeout=SQLITE_BUSY_SECONDS)
    parts = urllib.parse.urlsplit(DATABASE_URL)
    return psycopg2.connect(host=parts.hostname or "localhost", port=parts.port or 5432,
                            dbname=parts.path.lstrip("/") or "postgres", user=os.environ.get("DATABASE_USER", ""),
                            password=os.environ.get("DATABASE_PASSWORD", ""), connect_timeout=3,
                            application_name="voucher-" + MODE)


def table(name):
    """A table of the listener's schema, quoted (SQLite: a table named with the schema as prefix)."""
    if SQLITE:
        return '"%s_%s"' % (SCHEMA, name)
    return sql.Identifier(SCHEMA, name)


def statement(text, *tables):
    """text with {} replaced by the listener's tables named."""
    if SQLITE:
        return text.format(*map(table, tables))
    return sql.SQL(text).format(*map(table, tables))


def transaction(*statements):
    """Run (statement, args) pairs in one transaction; the rows of the last, or None when it returns none."""
    if not statements:
        return None
    if SQLITE:
        with contextlib.closing(connect()) as conn:
            with conn:  # one transaction, committed at its end
                for text, args in statements:
                    cur = conn.execute(text.replace("%s", "?"), args)
            return cur.fetchall() if cur.description is not None else None
    with connect() as conn, conn.cursor() as cur:
        for text, args in statements:
            cur.execute(text, args)
        return cur.fetchall() if cur.description is not None else None


def query(statement_, args=(), one=False):
    rows = transaction((statement_, args)) or []
    return (rows[0] if rows else None) if one else rows


def table_exists(name):
    """Whether the listener made its table `name` (the backend may start first)."""
    if SQLITE:
        return query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", (table(name).strip('"'),),
                     one=True) is not None
    row = query("SELECT to_regclass(%s)", (SCHEMA + "." + name,), one=True)
    return bool(row) and row[0] is not None


def sqlite_setup():
    """SQLite: the folder must be writable (the bind mount's owner), the file in WAL mode (readers and the
    one writer at a time do not block each other; the setting stays in the file)."""
    folder = os.path.dirname(SQLITE)
    if not os.path.isabs(SQLITE) or not os.access(folder, os.W_OK):
        sys.exit("voucher-%s: DATABASE_URL %s: the SQLite file needs an absolute path in a folder uid %d can"
                 " write" % (MODE, DATABASE_URL, os.getuid()))
    with contextlib.closing(connect()) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


# --- backend -----------------------------------------------------------------------------

def backend_setup():
    if SQLITE:
        sqlite_setup()
        query("CREATE TABLE IF NOT EXISTS orders (order_hash text PRIMARY KEY, site text NOT NULL,"
              " created_at text NOT NULL DEFAULT (%s), delivered_at text)" % NOW)
        query("CREATE TABLE IF NOT EXISTS audit_log (id integer PRIMARY KEY AUTOINCREMENT, action text NOT NULL,"
              " order_hash text NOT NULL, at text NOT NULL DEFAULT (%s))" % NOW)
        return
    query("CREATE TABLE IF NOT EXISTS orders (order_hash text PRIMARY KEY, site text NOT NULL,"
          " created_at timestamptz NOT NULL DEFAULT now(), delivered_at timestamptz)")
    query("CREATE TABLE IF NOT EXISTS audit_log (id bigserial PRIMARY KEY, action text NOT NULL,"
          " order_hash text NOT NULL, at timestamptz NOT NULL DEFAULT now())")


def redemption(order_hash):
    """The listener's confirmed redemption of an order, None when it has none (or has not started)."""
    if not table_exists("redemptions"):
        return None
    return query(statement("SELECT block FROM {} WHERE order_hash = %s", "redemptions"), (order_hash,), one=True)


def order(order_hash):
    row = query("SELECT site, delivered_at FROM orders WHERE order_hash = %s", (order_hash,), one=True)
    if row is None:
        return None
    redeemed = redemption(order_hash)
    status = "DELIVERED" if row[1] else "VALID" if redeemed else "PENDING"
    return {"order_hash": order_hash, "site": row[0], "status": status,
            "redeemed_in_block": redeemed[0] if redeemed else None}


def listener_state():
    if not table_exists("progress"):
        return {"connected": False, "reason": "the listener has not started"}
    row = query(statement("SELECT last_block, head, confirmations, rpc_ok, last_error, "  # noqa: S608 - fixed SQL
                          + age_sql("updated_at") + " FROM {}", "progress"), one=True)
    if row is None:
        return {"connected": False, "reason": "the listener has not reached the chain yet"}
    state = dict(zip(("last_block", "head", "confirmations", "rpc_ok", "last_error", "age"), row, strict=True))
    return {"connected": bool(state["rpc_ok"]) and float(state["age"]) < STALE, "last_block": state["last_block"],
            "head": state["head"], "confirmations": state["confirmations"],
            "seconds_since_update": round(float(state["age"]), 1), "last_error": state["last_error"]}


def backend_get(path):
    if path == "/health":
        try:
            query("SELECT 1")
            return 200, {"status": "UP"}
        except Exception as exc:  # noqa: BLE001 - any failure is a down database
            return 503, {"status": "DOWN", "error": str(exc)}
    if path == "/listener":
        return 200, listener_state()
    if path.startswith("/orders/"):
        found = order(path.split("/")[2])
        return (200, found) if found else (404, {"error": "no such order"})
    return 404, {"error": "not found"}


def backend_post(path, body):
    if path == "/orders":
        order_hash = "0x" + uuid.uuid4().hex + uuid.uuid4().hex
        query("INSERT INTO orders (order_hash, site) VALUES (%s, %s)", (order_hash, str(body.get("site", "main"))))
        return 201, order(order_hash)
    parts = path.split("/")
    if len(parts) == 4 and parts[1] == "orders" and parts[3] == "deliver":
        found = order(parts[2])
        if found is None:
            return 404, {"error": "no such order"}
        if found["status"] != "VALID":
            return 409, {"error": "the order is %s, not VALID" % found["status"]}
        transaction(("UPDATE orders SET delivered_at = %s WHERE order_hash = %%s" % NOW,  # noqa: S608 - fixed SQL
                     (parts[2],)),
                    ("INSERT INTO audit_log (action, order_hash) VALUES ('deliver', %s)", (parts[2],)))
        return 200, order(parts[2])
    return 404, {"error": "not found"}


# --- listener ----------------------------------------------------------------------------

def rpc(method, *params):
    request = urllib.request.Request(os.environ["RPC_URL"],  # noqa: S310 - the configured endpoint
                                      method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                                      "params": list(params)}).encode())
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - the configured endpoint
        answer = json.loads(resp.read())
    if "error" in answer:
        raise RuntimeError("%s: %s" % (method, answer["error"]))
    return answer["result"]


def listener_setup():
    if SQLITE:
        sqlite_setup()
        query(statement("CREATE TABLE IF NOT EXISTS {} (one integer PRIMARY KEY DEFAULT 1 CHECK (one = 1),"
                        " last_block integer, head integer, confirmations integer, rpc_ok integer, last_error text,"
                        " updated_at text NOT NULL DEFAULT (%s))" % NOW, "progress"))
        query(statement("CREATE TABLE IF NOT EXISTS {} (order_hash text PRIMARY KEY, block integer NOT NULL,"
                        " tx text, seen_at text NOT NULL DEFAULT (%s))" % NOW, "redemptions"))
        return
    query(statement("CREATE TABLE IF NOT EXISTS {} (one boolean PRIMARY KEY DEFAULT true CHECK (one),"
                    " last_block bigint, head bigint, confirmations int, rpc_ok boolean, last_error text,"
                    " updated_at timestamptz NOT NULL DEFAULT now())", "progress"))
    query(statement("CREATE TABLE IF NOT EXISTS {} (order_hash text PRIMARY KEY, block bigint NOT NULL,"
                    " tx text, seen_at timestamptz NOT NULL DEFAULT now())", "redemptions"))
    # The backend reads both (its own user; the schema stays the listener's to write).
    query(sql.SQL("GRANT USAGE ON SCHEMA {} TO PUBLIC").format(sql.Identifier(SCHEMA)))
    query(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO PUBLIC").format(sql.Identifier(SCHEMA)))


def progress(**values):
    names = sorted(values)
    if SQLITE:
        # The column names are this program's own (progress' keywords), the values parameters. `one`
        # is given: an integer primary key is SQLite's rowid, which would take the next number otherwise.
        text = ("INSERT INTO {} (one, %s, updated_at) VALUES (1, %s, %s) ON CONFLICT (one) DO UPDATE SET %s,"  # noqa: S608
                " updated_at = %s" % (", ".join(names), ", ".join(["?"] * len(names)), NOW,
                                      ", ".join("%s = excluded.%s" % (n, n) for n in names), NOW))
        query(statement(text, "progress"), [values[n] for n in names])
        return
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in names)
    placeholders = sql.SQL(", ").join([sql.Placeholder()] * len(names))
    query(sql.SQL("INSERT INTO {} ({}, updated_at) VALUES ({}, now()) ON CONFLICT (one) DO UPDATE SET {},"
                  " updated_at = now()").format(table("progress"), columns, placeholders, updates),
          [values[n] for n in names])


def listen():
    listener_setup()
    row = query(statement("SELECT last_block FROM {}", "progress"), one=True)
    last = row[0] if row and row[0] is not None else int(os.environ.get("START_BLOCK", "0")) - 1
    failures = 0
    while True:
        try:
            head = int(rpc("eth_blockNumber"), 16)
            safe = head - CONFIRMATIONS
            if safe > last:
                logs = rpc("eth_getLogs", {"fromBlock": hex(last + 1), "toBlock": hex(safe),
                                           "address": os.environ.get("CONTRACT_ADDRESS", ""), "topics": [REDEEMED]})
                insert = statement("INSERT INTO {} (order_hash, block, tx) VALUES (%s, %s, %s)"
                                   " ON CONFLICT DO NOTHING", "redemptions")
                transaction(*[(insert, (log["topics"][1], int(log["blockNumber"], 16), log.get("transactionHash")))
                              for log in logs])
                last = safe
            progress(last_block=last, head=head, confirmations=CONFIRMATIONS, rpc_ok=True, last_error=None)
            failures = 0
            time.sleep(float(os.environ.get("POLL_SECONDS", "2")))
        except Exception as exc:  # noqa: BLE001 - kept, shown and retried
            failures += 1
            sys.stderr.write("listener: %s (retry %d)\n" % (exc, failures))
            try:
                progress(rpc_ok=False, last_error=str(exc)[:500], confirmations=CONFIRMATIONS)
            except Exception as db_exc:  # noqa: BLE001 - the database may be the failure
                sys.stderr.write("listener: progress not recorded: %s\n" % db_exc)
            time.sleep(min(2 ** failures, 30))


# --- chain stub --------------------------------------------------------------------------

START = time.time()
EVENTS = []  # (block, order_hash)
EVENTS_LOCK = threading.Lock()


def chain_head():
    return 100 + int((time.time() - START) / float(os.environ.get("BLOCK_SECONDS", "2")))


def chain_rpc(body):
    method, params = body.get("method"), body.get("params") or []
    if method == "eth_blockNumber":
        result = hex(chain_head())
    elif method == "eth_chainId":
        result = hex(int(os.environ.get("CHAIN_ID", "97")))
    elif method == "eth_getLogs":
        low, high = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
        with EVENTS_LOCK:
            result = [{"blockNumber": hex(block), "topics": [REDEEMED, order_hash], "address": params[0].get("address"),
                       "transactionHash": "0x%064x" % (index + 1)}
                      for index, (block, order_hash) in enumerate(EVENTS) if low <= block <= high]
    else:
        return {"jsonrpc": "2.0", "id": body.get("id"), "error": {"code": -32601, "message": "method not found"}}
    return {"jsonrpc": "2.0", "id": body.get("id"), "result": result}


def chain_post(path, body):
    if path == "/":
        return 200, chain_rpc(body)
    if path == "/redeem":
        with EVENTS_LOCK:
            block = chain_head() + 1
            EVENTS.append((block, str(body["order_hash"])))
        return 200, {"block": block}
    return 404, {"error": "not found"}


# --- HTTP --------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's naming
        path = urllib.parse.urlsplit(self.path).path
        if MODE == "chain":
            self.answer(*((200, {"status": "UP", "head": chain_head()}) if path == "/health"
                          else (404, {"error": "not found"})))
        else:
            self.answer(*backend_get(path))

    def do_POST(self):  # noqa: N802 - http.server's naming
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        except ValueError:
            self.answer(400, {"error": "the body is not JSON"})
            return
        path = urllib.parse.urlsplit(self.path).path
        try:
            self.answer(*(chain_post if MODE == "chain" else backend_post)(path, body))
        except Exception as exc:  # noqa: BLE001 - the caller gets the reason
            self.answer(500, {"error": str(exc)})

    def log_message(self, fmt, *args):
        if self.client_address[0] != "127.0.0.1":  # not the healthcheck's requests
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def check():
    """The container's health: the HTTP modes answer /health; the listener recorded progress lately."""
    if MODE == "listener":
        row = query(statement("SELECT " + age_sql("updated_at") + " FROM {}", "progress"),  # noqa: S608 - fixed SQL
                    one=True)
        return bool(row) and float(row[0]) < STALE
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/health" % PORT, timeout=3) as resp:  # noqa: S310
            return resp.status == 200
    except OSError:
        return False


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        try:
            sys.exit(0 if check() else 1)
        except Exception:  # noqa: BLE001 - unhealthy, whatever the reason
            sys.exit(1)
    if MODE == "listener":
        listen()
    if MODE == "backend":
        backend_setup()
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()  # noqa: S104 - a container's service
