"""Example Alertmanager webhook receiver: logs each notification (one line per alert) and keeps the last 200
alerts, served as JSON at GET /alerts. Standard library only."""
import json
import signal
import sys
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

received = deque(maxlen=200)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        for alert in body.get("alerts", []):
            received.append(alert)
            labels = alert.get("labels", {})
            print(f"{alert.get('status')} {labels.get('alertname')} {json.dumps(labels, sort_keys=True)}", flush=True)
        self.send_response(200)
        self.end_headers()

    def do_GET(self):
        if self.path != "/alerts":
            self.send_error(404)
            return
        payload = json.dumps(list(received)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    # PID 1 in a container gets no default SIGTERM handling: exit on docker/podman stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("webhook receiver on :5001", file=sys.stderr, flush=True)
    ThreadingHTTPServer(("", 5001), Receiver).serve_forever()
