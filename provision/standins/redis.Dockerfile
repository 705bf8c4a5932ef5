# Stand-in for the official redis:8.10.2-trixie, for machines with no container registry
# (see README.md): Debian trixie's own redis-server, which is 8.0.2 (the official image builds
# 8.10.2 from source); the demo uses only commands both have.
FROM debian:trixie-slim

ENV PIP_CERT=/usr/local/share/workshop/host-ca-bundle.crt \
    REQUESTS_CA_BUNDLE=/usr/local/share/workshop/host-ca-bundle.crt \
    SSL_CERT_FILE=/usr/local/share/workshop/host-ca-bundle.crt

# unpinned on purpose: a stand-in follows trixie's point and security updates
# hadolint ignore=DL3008
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates redis-server; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /data; chown redis:redis /data; \
    redis-server --version

COPY host-ca-bundle.crt /usr/local/share/workshop/host-ca-bundle.crt
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

VOLUME /data
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
