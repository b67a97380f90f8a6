"""litedesk-app: a stand-in for the LiteDesk backend and frontend, for deployment tests.

It proves the wiring a deployment gives each tenant's instance, nothing of a helpdesk.
LITEDESK_SERVICE picks what it is; both serve HTTP on PORT.

backend
  GET  /api/health   200 when the database answers, else 503
  GET  /api/tenant   {"tenant": TENANT_NAME, "instance_mode": INSTANCE_MODE}
  POST /api/notes    {"text": ...} -> 201, a row in the notes table (made at the first use)
  GET  /api/notes    {"tenant": ..., "notes": [{"text": ...}, ...]}, oldest first
  The database: DATABASE_URL (postgresql://host:port/name; a user and password in it are
  used when DATABASE_USER and DATABASE_PASSWORD are not set), DATABASE_USER, DATABASE_PASSWORD.
frontend
  GET  /             an HTML page naming the tenant
  /api/...           passed to BACKEND_URL with its method, body and status

`app.py --check` is the image's health check: the backend's /api/health, the frontend's page.
"""

import html
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

SERVICE = os.environ.get("LITEDESK_SERVICE", "backend")
PORT = int(os.environ.get("PORT", "8080"))
TENANT = os.environ.get("TENANT_NAME", "")
MODE = os.environ.get("INSTANCE_MODE", "")
BACKEND_URL = os.environ.get("BACKEND_URL", "http://backend:8080").rstrip("/")
# A request's body, at most: the stand-in takes short notes only.
MAX_BODY = 1 << 20
TIMEOUT = 10


def connect():
    parts = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", "postgresql://localhost:5432/postgres"))
    return psycopg2.connect(
        host=parts.hostname or "localhost", port=parts.port or 5432, dbname=parts.path.lstrip("/") or "postgres",
        user=os.environ.get("DATABASE_USER") or urllib.parse.unquote(parts.username or "postgres"),
        password=os.environ.get("DATABASE_PASSWORD") or urllib.parse.unquote(parts.password or ""),
        connect_timeout=5)


def query(statement, args=(), fetch=False):
    connection = connect()
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS notes (id bigserial PRIMARY KEY, text text NOT NULL,"
                           " created timestamptz NOT NULL DEFAULT now())")
            cursor.execute(statement, args)
            return cursor.fetchall() if fetch else None
    finally:
        connection.close()


def healthy():
    try:
        connection = connect()
    except Exception:  # noqa: BLE001 - any failure to reach the database is "not healthy"
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # noqa: BLE001
        return False
    finally:
        connection.close()


def health(_body):
    return (200, {"status": "ok"}) if healthy() else (503, {"status": "database unavailable"})


def tenant(_body):
    return 200, {"tenant": TENANT, "instance_mode": MODE}


def notes(_body):
    rows = query("SELECT text FROM notes ORDER BY id", fetch=True)
    return 200, {"tenant": TENANT, "notes": [{"text": text} for (text,) in rows]}


def add_note(body):
    try:
        text = json.loads(body or b"{}").get("text")
    except (ValueError, AttributeError):
        text = None
    if not isinstance(text, str) or not text:
        return 400, {"error": "a JSON object with a non-empty text is required"}
    query("INSERT INTO notes (text) VALUES (%s)", (text,))
    return 201, {"tenant": TENANT, "text": text}


ROUTES = {
    ("GET", "/api/health"): health,
    ("GET", "/api/tenant"): tenant,
    ("GET", "/api/notes"): notes,
    ("POST", "/api/notes"): add_note,
}


def backend(method, path, body):
    """(status, JSON-able answer) of the backend's API."""
    path = urllib.parse.urlsplit(path).path.rstrip("/")
    route = ROUTES.get((method, path))
    if route:
        return route(body)
    if any(known == path for _method, known in ROUTES):
        return 405, {"error": "method not allowed"}
    return 404, {"error": "not found"}


def proxy(method, path, body, content_type):
    """(status, body bytes, content type) of the same request to the backend."""
    request = urllib.request.Request(  # noqa: S310 - BACKEND_URL is the backend's http address
        BACKEND_URL + path, data=body if method not in ("GET", "HEAD") else None, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 - BACKEND_URL is http
            return answer.status, answer.read(), answer.headers.get("Content-Type", "application/json")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "application/json")
    except (urllib.error.URLError, OSError) as error:
        return 502, json.dumps({"error": "backend unreachable: %s" % error}).encode(), "application/json"


def page():
    name = html.escape(TENANT)
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>LiteDesk - %s</title></head>\n"
            "<body><h1>LiteDesk</h1><p class=\"tenant\">Tenant: %s</p></body></html>\n" % (name, name)).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, code, body, content_type):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send(413, b'{"error": "too large"}', "application/json")
            return
        body = self.rfile.read(length) if length else b""
        try:
            if SERVICE == "frontend":
                if self.path == "/api" or self.path.startswith("/api/"):
                    self.send(*proxy(self.command, self.path, body, self.headers.get("Content-Type")))
                elif self.command in ("GET", "HEAD") and urllib.parse.urlsplit(self.path).path in ("/", "/index.html"):
                    self.send(200, page(), "text/html; charset=utf-8")
                else:
                    self.send(404, b"not found\n", "text/plain")
                return
            code, answer = backend(self.command, self.path, body)
        except Exception as error:  # noqa: BLE001 - the request fails, the service goes on
            code, answer = 500, {"error": str(error)}
        self.send(code, json.dumps(answer).encode(), "application/json")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any  # noqa: N815 - http.server's naming

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (SERVICE, fmt % args))


def check():
    path = "/api/health" if SERVICE == "backend" else "/"
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (PORT, path), timeout=2) as answer:  # noqa: S310
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if check() else 1)
    if SERVICE not in ("backend", "frontend"):
        sys.exit("LITEDESK_SERVICE must be backend or frontend, got %r" % SERVICE)
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()  # noqa: S104 - a container's service
