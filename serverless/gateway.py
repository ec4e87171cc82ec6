"""A local stand-in for the API Gateway HTTP API in front of the function (`make serverless-local`).

``python -s gateway.py TASK_ROOT PORT ROUTE...``: serves 127.0.0.1:PORT and turns each request
that matches one of the ROUTEs ("POST /predict", "OPTIONS /{proxy+}": the template's route
keys) into an HTTP API payload 2.0 event for the package's handler, as API Gateway does: text
bodies as text, others base64-encoded, headers lower-cased, the same 404 for unrouted paths
and 413 for bodies over its 10 MB. Run it with the runtime's Python in an empty environment
(serverless/local.py does) and the page, curl or a test talk to the function as on AWS.
Standard library only (and events.py beside it).
"""

import base64
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from events import http_api_event  # serverless/events.py, beside this script

PAYLOAD_LIMIT = 10 * 1024 * 1024  # an HTTP API's request limit
TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded))")


def route_pattern(key):
    """'POST /predict' -> (method, regex); {name} matches a segment, {name+} the rest."""
    method, path = key.split(" ", 1)
    regex = re.sub(r"\\\{[A-Za-z]+\\\+\\\}", ".+", re.escape(path))
    regex = re.sub(r"\\\{[A-Za-z]+\\\}", "[^/]+", regex)
    return method, re.compile(f"^{regex}$")


def serve(handler, port, routes):
    patterns = [(key, *route_pattern(key)) for key in routes]
    one_at_a_time = threading.Lock()  # a function instance handles one event at a time

    class Gateway(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status, headers, body):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_one(self):
            path, _, query = self.path.partition("?")
            key = next((k for k, m, rx in patterns if m == self.command and rx.match(path)),
                       None)
            declared = self.headers.get("Content-Length") or "0"
            if not declared.isdigit():  # a negative or garbled length would read until EOF
                self.close_connection = True
                return self.answer(400, {"Content-Type": "application/json"},
                                   b'{"message":"Bad Request"}')
            length = int(declared)
            if length > PAYLOAD_LIMIT:
                self.close_connection = True
                return self.answer(413, {"Content-Type": "application/json"},
                                   b'{"message":"Request Entity Too Large"}')
            body = self.rfile.read(length) if length else b""
            if key is None:
                return self.answer(404, {"Content-Type": "application/json"},
                                   b'{"message":"Not Found"}')
            # API Gateway passes text bodies as text and base64-encodes the others.
            text = bool(TEXT_TYPES.match(self.headers.get("Content-Type", "")))
            event = http_api_event(self.command, path, body or None, dict(self.headers.items()),
                                   base64_encoded=not text, query=query,
                                   source_ip=self.client_address[0], route_key=key)
            with one_at_a_time:
                response = handler(event, None)
            data = response.get("body") or ""
            data = base64.b64decode(data) if response.get("isBase64Encoded") else data.encode()
            self.answer(response["statusCode"], response.get("headers") or {}, data)

        # http.server dispatches on do_<METHOD>: every method goes through one route table.
        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = handle_one  # noqa: N815

        def log_message(self, format, *args):
            sys.stderr.write("gateway: " + format % args + "\n")

    server = ThreadingHTTPServer(("127.0.0.1", port), Gateway)
    print(json.dumps({"listening": f"http://127.0.0.1:{server.server_port}"}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    task_root, port, *route_keys = sys.argv[1:]
    sys.path.insert(0, task_root)
    from backend import lambda_function

    serve(lambda_function.handler, int(port), route_keys)
