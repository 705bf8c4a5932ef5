# Stand-in for the official python:3.12-slim-trixie, for machines with no container registry
# (see README.md). The build context holds python/ (the host's CPython 3.12 tree, prefix
# already rewritten to /usr/local) and host-ca-bundle.crt; prepare writes both.
FROM debian:trixie-slim

# the Debian runtime libraries the interpreter and its extension modules link against (ldd on the host)
ARG RUNTIME_PACKAGES
ARG PYTHON_VERSION

ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHON_VERSION=${PYTHON_VERSION} \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CERT=/usr/local/share/workshop/host-ca-bundle.crt \
    REQUESTS_CA_BUNDLE=/usr/local/share/workshop/host-ca-bundle.crt \
    SSL_CERT_FILE=/usr/local/share/workshop/host-ca-bundle.crt

# unpinned on purpose: a stand-in follows trixie's point and security updates
# hadolint ignore=DL3008
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates netbase tzdata ${RUNTIME_PACKAGES}; \
    rm -rf /var/lib/apt/lists/*

COPY host-ca-bundle.crt /usr/local/share/workshop/host-ca-bundle.crt
COPY python/ /usr/local/

RUN set -eux; \
    ldconfig; \
    python3 -m ensurepip --default-pip; \
    python3 -m pip --version; \
    python3 -c 'import ssl, sqlite3, ctypes, zlib, bz2, lzma, uuid, decimal, hashlib, readline, venv'; \
    find /usr/local/lib/python3.12/site-packages -depth -name __pycache__ -exec rm -rf '{}' +; \
    python3 --version; pip --version; python --version

CMD ["python3"]
