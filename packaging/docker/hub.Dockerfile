# syntax=docker/dockerfile:1
# The edgefleet hub in a container, from the linux-x64 tarball (docs/operations.md "Containers"):
#   npm run package:hub
#   docker build -f packaging/docker/hub.Dockerfile -t edgefleet-hub:0.1.0 .
#   docker run -d --restart unless-stopped -p 8700:8700 -p 1883:1883 \
#     -v ef-hub:/var/lib/edgefleet-hub -v /etc/edgefleet:/etc/edgefleet:ro edgefleet-hub:0.1.0
# /etc/edgefleet holds trust.json and hub.key (the hub key owned by uid 10001, mode 0600: a key others may read stops the start).
# Backups (outside the data dir): docker exec HUB edgefleet-hub backup --data-dir /var/lib/edgefleet-hub --out /tmp/hub-backup
#   && docker cp HUB:/tmp/hub-backup ./hub-backup-$(date +%F) && docker exec HUB rm -rf /tmp/hub-backup
# Node 20 on Debian (glibc): the tarball's addons are built for Node ABI 115.
# Checked by test/src/scenarios/package-files.test.ts (Docker cannot build on the CI machine).
FROM node:20-bookworm-slim
ARG VERSION=0.1.0
# A local tar archive given to ADD is unpacked.
ADD packaging/dist/edgefleet-hub-${VERSION}-linux-x64.tar.gz /opt/
RUN mv /opt/edgefleet-hub-${VERSION}-linux-x64 /opt/edgefleet-hub \
 && useradd --system --uid 10001 --home-dir /var/lib/edgefleet-hub --no-create-home --shell /usr/sbin/nologin edgefleet \
 && mkdir -p /var/lib/edgefleet-hub \
 && chown edgefleet:edgefleet /var/lib/edgefleet-hub \
 && chmod 0700 /var/lib/edgefleet-hub \
 && ln -s /opt/edgefleet-hub/hub/bin/edgefleet-hub.js /usr/local/bin/edgefleet-hub \
 && ln -s /opt/edgefleet-hub/hub/bin/edgefleet.js /usr/local/bin/edgefleet
ENV NODE_ENV=production
USER edgefleet
VOLUME /var/lib/edgefleet-hub
EXPOSE 8700 1883
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8700/api/v1/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/opt/edgefleet-hub/hub/bin/edgefleet-hub.js"]
CMD ["run", "--data-dir", "/var/lib/edgefleet-hub", "--host", "0.0.0.0", "--trust", "/etc/edgefleet/trust.json", "--hub-key", "/etc/edgefleet/hub.key"]
