# MemArc coordinator image: `memarc coordinator` on a pinned Node 20 slim base, non-root.
# Build from the repository root:  docker build -f docker/coordinator.Dockerfile -t memarc/coordinator .
# No key, token or state is baked in: keys come from a mounted volume (/keys, /public), state lives
# in the /state volume. See docs/docker.md.

# ---- build: install exactly the lockfile, compile TypeScript, drop dev dependencies ----
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY . .
# --ignore-scripts: the coordinator never trains on a GPU, so the optional tfjs-node-gpu binding is
# not fetched (MEMARC_BACKEND=auto then falls back to wasm); nothing else here needs install scripts.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npx tsc -b apps/cli packages/ops \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf /root/.npm

# ---- runtime ----
FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production \
    MEMARC_BACKEND=auto
# A fixed uid/gid so volume ownership is predictable (the compose `keys` job chowns to it).
RUN groupadd --system --gid 10001 memarc \
 && useradd --system --uid 10001 --gid memarc --home-dir /home/memarc --create-home --shell /usr/sbin/nologin memarc \
 && mkdir -p /state /keys /public \
 && chown memarc:memarc /state \
 && chmod 0700 /state
# The application stays root-owned and read-only for the service user.
COPY --from=build /app /app
RUN ln -s /app/apps/cli/bin/memarc.js /usr/local/bin/memarc
USER memarc
WORKDIR /state
VOLUME ["/state"]
# 7700: socket.io for nodes; 7701: dashboard, /metrics, /healthz.
EXPOSE 7700 7701
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7701/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["memarc"]
# The dashboard listens beyond the container's loopback, so it needs MEMARC_DASHBOARD_TOKEN (/healthz is open).
CMD ["coordinator", "--host", "0.0.0.0", "--port", "7700", "--dashboard-host", "0.0.0.0", "--dashboard-port", "7701", \
     "--key", "/keys/identity.key", "--allow", "/public/nodes.txt", "--state", "/state"]
