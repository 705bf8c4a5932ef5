# The demo server on a plain Debian image, with Python and Flask from Debian itself.
# Build: docker build -t workshop-demo-deb:1.0 -f docker_demo/deb.Dockerfile docker_demo
FROM debian:trixie-slim

# Every image the workshop builds carries this label, for whoever reads `docker inspect`;
# cleanup never goes by it, only by the names it made (.workshop/made.json) and the deck's.
LABEL edu.cs198.workshop="docker-demo"

# Why apt and not pip? trixie-slim has no Python and no pip at all, and even with
# python3-pip installed, Debian 13 refuses `pip install flask` into its own Python
# (PEP 668: error: externally-managed-environment). Debian packages Flask, so take
# it from the same place as Python itself.
# --no-install-recommends and deleting the package lists keep the layer small.
# The tag above already fixes the Debian release; exact package versions are left
# out on purpose, because security updates remove old ones from the mirror.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-flask \
 && rm -rf /var/lib/apt/lists/*

# An unprivileged user to run the server (a fixed uid, so it is the same everywhere).
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin demo

WORKDIR /app
COPY server.py .

USER 10001
# Documents the port the server listens on; `docker run -p HOST:3000` publishes it.
EXPOSE 3000
# Exec form (a JSON list): python3 runs as PID 1 and receives `docker stop`'s SIGTERM.
CMD ["python3", "server.py"]
