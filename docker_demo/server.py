"""Workshop demo server: it answers with the platform it is running on."""
import os, platform, signal, socket, sys
from flask import Flask
from werkzeug.serving import make_server  # Flask's own development server, used directly

app = Flask(__name__)
TEXT = {"Content-Type": "text/plain; charset=utf-8"}

def os_name():  # kernel and release, then the Linux distribution or macOS version
    kernel = f"{platform.system()} {platform.release()}"
    if platform.system() == "Darwin":
        return f"{kernel} (macOS {platform.mac_ver()[0]})"
    try:  # PRETTY_NAME from /etc/os-release
        return f"{kernel} ({platform.freedesktop_os_release()['PRETTY_NAME']})"
    except (OSError, KeyError, AttributeError):  # no os-release, or a Python before 3.10
        return kernel

@app.get("/")
def hello():
    return (f"Hello from the workshop demo server!\n"
            f"os:       {os_name()}\n"
            f"python:   {platform.python_version()}\n"
            f"hostname: {socket.gethostname()}\n"), TEXT

@app.get("/healthz")
def healthz():
    return "ok\n", TEXT

if __name__ == "__main__":
    # As PID 1 in a container, SIGTERM without a handler is ignored (docker stop: 10 s).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    port = int(os.environ.get("PORT", "3000"))
    server = make_server("0.0.0.0", port, app, threaded=True)  # demo only, never production
    print(f"Serving on http://0.0.0.0:{port}", flush=True)  # only once the port is ours
    server.serve_forever()
