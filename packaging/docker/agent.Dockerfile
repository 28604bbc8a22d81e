# syntax=docker/dockerfile:1
# The edgefleet agent in a container, from the linux-x64 tarball (docs/operations.md "Containers"):
#   npm run package:agent
#   docker build -f packaging/docker/agent.Dockerfile -t edgefleet-agent:0.1.0 .
#   docker run --network host -v ef-agent:/var/lib/edgefleet-agent edgefleet-agent:0.1.0 enroll --hub http://HUB:8700 --token T --data-dir /var/lib/edgefleet-agent
#   docker run -d --network host --restart unless-stopped -v ef-agent:/var/lib/edgefleet-agent edgefleet-agent:0.1.0
# The local API stays on 127.0.0.1:8701 (host networking puts it on the box's loopback, as without Docker).
# The local commands on a running container: docker exec AGENT edgefleet-agent status --data-dir /var/lib/edgefleet-agent
# Node 20 on Debian (glibc): the tarball's addons are built for Node ABI 115 and onnxruntime needs glibc.
# Checked by test/src/scenarios/package-files.test.ts (Docker cannot build on the CI machine).
FROM node:20-bookworm-slim
ARG VERSION=0.1.0
# A local tar archive given to ADD is unpacked.
ADD packaging/dist/edgefleet-agent-${VERSION}-linux-x64.tar.gz /opt/
RUN mv /opt/edgefleet-agent-${VERSION}-linux-x64 /opt/edgefleet \
 && useradd --system --uid 10001 --home-dir /var/lib/edgefleet-agent --no-create-home --shell /usr/sbin/nologin edgefleet \
 && mkdir -p /var/lib/edgefleet-agent \
 && chown edgefleet:edgefleet /var/lib/edgefleet-agent \
 && chmod 0700 /var/lib/edgefleet-agent \
 && ln -s /opt/edgefleet/agent/bin/edgefleet-agent.js /usr/local/bin/edgefleet-agent
# The same as the systemd unit's Environment= lines (packaging/systemd/edgefleet-agent.service).
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=1 --v8-pool-size=1 --expose-gc" \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=65536 \
    MALLOC_TRIM_THRESHOLD_=131072
USER edgefleet
VOLUME /var/lib/edgefleet-agent
EXPOSE 8701
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8701/v2/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/opt/edgefleet/agent/bin/edgefleet-agent.js"]
CMD ["run", "--data-dir", "/var/lib/edgefleet-agent"]
