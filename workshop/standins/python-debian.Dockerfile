# Fallback stand-in for python:3.12-slim when the host has no CPython 3.12 build to copy:
# Debian's python3 (3.11), so `python3 --version` does NOT say 3.12. See README.md.
FROM debian:bookworm-slim

ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    PIP_CERT=/usr/local/share/workshop/host-ca-bundle.crt \
    REQUESTS_CA_BUNDLE=/usr/local/share/workshop/host-ca-bundle.crt \
    SSL_CERT_FILE=/usr/local/share/workshop/host-ca-bundle.crt

COPY host-ca-bundle.crt /usr/local/share/workshop/host-ca-bundle.crt

# unpinned on purpose: a stand-in follows bookworm's point and security updates
# hadolint ignore=DL3008
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates netbase tzdata python3 python3-venv python3-pip; \
    rm -rf /var/lib/apt/lists/*; \
    ln -s /usr/bin/python3 /usr/local/bin/python; \
    ln -s /usr/bin/pip3 /usr/local/bin/pip; \
    python --version; pip --version

CMD ["python3"]
