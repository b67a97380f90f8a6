"""erp-service: a stand-in for one ChiroERP service, for deployment tests.

It proves the wiring a deployment gives a service, nothing of an ERP's logic:

  POST /records   writes a row into its own schema (DATABASE_SCHEMA) of the database
                  DATABASE_URL names, then produces an event to its topic (KAFKA_TOPIC on
                  KAFKA_BOOTSTRAP_SERVERS); answers 201 with the row id and the request id
  GET /events     the events of its topic, read back from the beginning
                  (?request_id=... keeps the ones of one request)
  GET /health     200 when the database answers, else 503
  GET /metrics    Prometheus text exposition: requests, rows written, events produced

DATABASE_URL may be a JDBC address (jdbc:postgresql://host:5432/db, as the real services
take it) or a libpq one; DATABASE_USER and DATABASE_PASSWORD log in. SERVER_PORT is the
port it listens on, SERVICE_NAME the name in its events and metrics.
"""

import json
import os
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from psycopg2 import sql

PORT = int(os.environ.get("SERVER_PORT", "8080"))
SERVICE = os.environ.get("SERVICE_NAME") or socket.gethostname()
SCHEMA = os.environ.get("DATABASE_SCHEMA", "public")
TOPIC = os.environ.get("KAFKA_TOPIC", "")
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
PATHS = ("/records", "/events", "/health", "/metrics")


def database_dsn():
    """libpq keywords from DATABASE_URL (JDBC or libpq form), DATABASE_USER and DATABASE_PASSWORD."""
    url = os.environ.get("DATABASE_URL", "postgresql://localhost:5432/postgres")
    parts = urllib.parse.urlsplit(url[len("jdbc:"):] if url.startswith("jdbc:") else url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or 5432,
        "dbname": parts.path.lstrip("/") or "postgres",
        "user": os.environ.get("DATABASE_USER") or parts.username or query.get("user", ""),
        "password": os.environ.get("DATABASE_PASSWORD") or parts.password or query.get("password", ""),
        "connect_timeout": 3,
        "application_name": SERVICE,
    }


class Metrics:
    """Counters in Prometheus' text exposition format."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {}
        self.records = 0
        self.events = 0

    def request(self, method, path, code):
        key = (method, path if path in PATHS else "other", str(code))
        with self.lock:
            self.requests[key] = self.requests.get(key, 0) + 1

    def wrote(self):
        with self.lock:
            self.records += 1
            self.events += 1

    def text(self):
        labels = 'service="%s",schema="%s",topic="%s"' % (SERVICE, SCHEMA, TOPIC)
        lines = [
            "# HELP erp_service_info The service, its schema and its topic.",
            "# TYPE erp_service_info gauge",
            "erp_service_info{%s} 1" % labels,
            "# HELP erp_http_requests_total HTTP requests served, by method, path and status code.",
            "# TYPE erp_http_requests_total counter",
        ]
        with self.lock:
            for (method, path, code), count in sorted(self.requests.items()):
                lines.append('erp_http_requests_total{service="%s",method="%s",path="%s",code="%s"} %d'
                             % (SERVICE, method, path, code, count))
            lines += [
                "# HELP erp_records_written_total Rows written into the service's schema.",
                "# TYPE erp_records_written_total counter",
                'erp_records_written_total{service="%s",schema="%s"} %d' % (SERVICE, SCHEMA, self.records),
                "# HELP erp_events_produced_total Events the service produced to its topic.",
                "# TYPE erp_events_produced_total counter",
                'erp_events_produced_total{service="%s",topic="%s"} %d' % (SERVICE, TOPIC, self.events),
            ]
        return "\n".join(lines + process_metrics()) + "\n"


def process_metrics():
    """CPU time and resident memory of this process, under the names Prometheus' client libraries use."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return [
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
        "# TYPE process_cpu_seconds_total counter",
        "process_cpu_seconds_total %.2f" % cpu,
        "# HELP process_resident_memory_bytes Resident memory size in bytes.",
        "# TYPE process_resident_memory_bytes gauge",
        "process_resident_memory_bytes %d" % rss,
    ]


METRICS = Metrics()
PRODUCER = {}  # the one producer, made on the first request
PRODUCER_LOCK = threading.Lock()


def producer():
    with PRODUCER_LOCK:
        if not PRODUCER:
            PRODUCER["it"] = Producer({"bootstrap.servers": BOOTSTRAP, "client.id": SERVICE, "acks": "all"})
        return PRODUCER["it"]


def connect():
    return psycopg2.connect(**database_dsn())


def ensure_table():
    """The service's table in its own schema; the schema itself is the deployment's to make."""
    with connect() as conn, conn.cursor() as cur:
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {}.records (id bigserial PRIMARY KEY, request_id text NOT NULL,"
            " body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())").format(sql.Identifier(SCHEMA)))


def write_record(request_id, body):
    ensure_table()
    with connect() as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("INSERT INTO {}.records (request_id, body) VALUES (%s, %s) RETURNING id")
                    .format(sql.Identifier(SCHEMA)), (request_id, json.dumps(body)))
        record_id = cur.fetchone()[0]
    event = {"service": SERVICE, "schema": SCHEMA, "record_id": record_id, "request_id": request_id, "body": body}
    delivered = []
    producer().produce(TOPIC, key=request_id.encode(), value=json.dumps(event).encode(),
                       on_delivery=lambda err, msg: delivered.append(err))
    producer().flush(10)
    if delivered != [None]:
        raise RuntimeError("event not delivered to %s: %s" % (TOPIC, delivered or "timeout"))
    METRICS.wrote()
    return {"service": SERVICE, "schema": SCHEMA, "topic": TOPIC, "id": record_id, "request_id": request_id}


def read_events(request_id=None, timeout=15.0):
    """Every event of the topic from the beginning (up to its end when asked), optionally of one request."""
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "%s-reader-%s" % (SERVICE, uuid.uuid4()),
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        partitions = consumer.list_topics(TOPIC, timeout=timeout).topics[TOPIC].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=timeout)[1] for p in partitions}
        consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p, end in ends.items() if end > 0])
        pending = {p for p, end in ends.items() if end > 0}
        events = []
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            if msg.offset() + 1 >= ends[msg.partition()]:
                pending.discard(msg.partition())
            event = json.loads(msg.value())
            if request_id is None or event.get("request_id") == request_id:
                events.append(event)
        return events
    finally:
        consumer.close()


def healthy():
    try:
        with connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
        return True
    except psycopg2.Error:
        return False


class Handler(BaseHTTPRequestHandler):
    def answer(self, code, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        METRICS.request(self.command, urllib.parse.urlsplit(self.path).path, code)

    def do_GET(self):  # noqa: N802 - http.server's naming
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/health":
            ok = healthy()
            self.answer(200 if ok else 503, {"status": "UP" if ok else "DOWN", "service": SERVICE})
        elif url.path == "/metrics":
            self.answer(200, METRICS.text(), "text/plain; version=0.0.4; charset=utf-8")
        elif url.path == "/events":
            try:
                events = read_events(query.get("request_id"), float(query.get("timeout", "15")))
                self.answer(200, {"service": SERVICE, "topic": TOPIC, "events": events})
            except Exception as exc:  # noqa: BLE001 - the caller gets the reason
                self.answer(502, {"error": str(exc)})
        else:
            self.answer(404, {"error": "not found", "service": SERVICE})

    def do_POST(self):  # noqa: N802 - http.server's naming
        if urllib.parse.urlsplit(self.path).path != "/records":
            self.answer(404, {"error": "not found", "service": SERVICE})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self.answer(400, {"error": "the body is not JSON"})
            return
        request_id = self.headers.get("X-Request-Id") or str(body.get("request_id") or uuid.uuid4())
        try:
            self.answer(201, write_record(request_id, body))
        except Exception as exc:  # noqa: BLE001 - the caller gets the reason
            self.answer(500, {"error": str(exc), "service": SERVICE})

    def log_message(self, fmt, *args):
        if self.path == "/health" and self.client_address[0] == "127.0.0.1":
            return  # the healthcheck's requests, every few seconds
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=3) as resp:  # noqa: S310
                sys.exit(0 if resp.status == 200 else 1)
        except OSError:
            sys.exit(1)
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()  # noqa: S104 - a container's service
