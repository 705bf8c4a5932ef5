# Stand-in for the official registry:2, for machines with no container registry to pull it from
# (see README.md): Debian trixie's docker-registry (Distribution 2.8), run as its own user.
FROM debian:trixie-slim

# unpinned on purpose: a stand-in follows trixie's point and security updates
# hadolint ignore=DL3008
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends docker-registry; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /var/lib/registry /etc/docker/registry; \
    chown docker-registry: /var/lib/registry; \
    docker-registry --version

COPY registry-config.yml /etc/docker/registry/config.yml

USER docker-registry
VOLUME /var/lib/registry
EXPOSE 5000
ENTRYPOINT ["/usr/bin/docker-registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
