#!/usr/bin/python3
"""A stand-in featherChat for tests: POST /v1/auth/validate {"token": T}.

Tokens (the test decides who holds which):
  valid:FP:ALIAS  -> {"valid": true, "fingerprint": FP, "alias": ALIAS}
  expired         -> 401 {"valid": false, "error": "token expired"}
  anything else   -> 401 {"valid": false, "error": "unknown token"}
  slow:SECS:...   -> waits SECS seconds, then answers for the rest
Usage: auth_server.py PORT_FILE MAX_SECONDS  (writes its port, stops by itself)
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(min(n, 65536)) or b"{}")
        token = body.get("token", "")
        if token.startswith("slow:"):
            _, secs, token = token.split(":", 2)
            time.sleep(float(secs))
        status, reply = 401, {"valid": False, "error": "unknown token"}
        if token.startswith("valid:"):
            _, fp, alias = token.split(":", 2) if token.count(":") >= 2 else (0, "", "")
            status, reply = 200, {"valid": True, "fingerprint": fp.replace("-", ":"),
                                  "alias": alias}
        elif token == "expired":
            reply = {"valid": False, "error": "token expired"}
        data = json.dumps(reply).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the relay gave up waiting


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    threading.Timer(float(sys.argv[2]), srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
