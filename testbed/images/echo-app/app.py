"""echo-app: answer GET requests with a JSON view of the app's configuration.

APP_GREETING is returned as it is; APP_TOKEN (a secret) is never returned, only
a fingerprint of it, so a test can tell that the secret arrived and which one.
"""

import hashlib
import json
import os
import socket
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("APP_PORT", "8000"))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        token = os.environ.get("APP_TOKEN", "")
        body = json.dumps(
            {
                "greeting": os.environ.get("APP_GREETING", ""),
                "token_sha256": hashlib.sha256(token.encode()).hexdigest() if token else None,
                "hostname": socket.gethostname(),
                "path": self.path,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=2) as resp:  # noqa: S310
            sys.exit(0 if resp.status == 200 else 1)
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()  # noqa: S104 - a container's service
