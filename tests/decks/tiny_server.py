"""A stand-in for a long-running server in the rehearsal engine's tests: answers 'pong'."""

import http.server
import pathlib


class Pong(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"pong\n")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Pong)
state = pathlib.Path(".workshop")
state.mkdir(exist_ok=True)
(state / "tiny-port").write_text(str(server.server_address[1]))
print(f"listening on {server.server_address[1]}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    print("stopped")
