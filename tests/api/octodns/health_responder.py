#!/usr/bin/env python3
"""Tiny HTTP health endpoint for tests/api/octodns_sync.sh.

    health_responder.py PORT ADDR...

Listens on every ADDR:PORT and answers GET/HEAD /_dns with 200 "ok" (anything
else 404), so the Route 53 health checks octodns-route53 creates for the
zone's pool values (IPAddress = the value, ResourcePath /_dns) come out healthy.
Prints "ready" once every address is bound; runs until killed.
"""
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def _answer(self, body):
        ok = self.path.split('?', 1)[0] == '/_dns'
        self.send_response(200 if ok else 404)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', '3')
        self.end_headers()
        if body:
            self.wfile.write(b'ok\n' if ok else b'no\n')

    def do_GET(self):
        self._answer(True)

    def do_HEAD(self):
        self._answer(False)

    def log_message(self, *args):
        pass


def main():
    if len(sys.argv) < 3:
        sys.exit('usage: health_responder.py PORT ADDR...')
    port = int(sys.argv[1])
    servers = [ThreadingHTTPServer((addr, port), Handler) for addr in sys.argv[2:]]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print('ready', flush=True)
    servers[0].serve_forever()


if __name__ == '__main__':
    main()
