# Nimbus in a container: `docker build -t nimbus .` then
#   docker run --rm -p 1935:1935/udp -p 1935:1935/tcp -p 8080:80/tcp \
#     -v "$PWD/www:/srv/nimbus/www:ro" -v "$PWD/nimbus.ini:/srv/nimbus/nimbus.ini:ro" -v nimbus-data:/srv/nimbus/data nimbus
# (docs/deploy.md). Two stages: the build stage has the compilers (tsc, and a C++ toolchain for better-sqlite3 when
# no prebuilt binary fits); the runtime stage has compiled JavaScript and production dependencies only, and runs as
# the image's unprivileged `node` user.

# ---- build ----
FROM node:20-bookworm-slim AS build
# better-sqlite3 falls back to node-gyp when no prebuilt binary matches the platform
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# what `npm ci` needs first (its `prepare` runs patch-package and the build), so the dependency layer is cached
# as long as the lock and the patches do not change
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && npm rebuild better-sqlite3 \
  && npx patch-package
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/build.mjs
COPY src ./src
COPY machines ./machines
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /srv/nimbus
COPY --from=build /build/package.json ./package.json
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
# the sample application; mount your own www/ over it (read-only is fine: scripts only write under data/)
COPY www ./www
# data/ (the Lua `data` store, data/data.sqlite) must be writable by the server's user; mount a volume there to keep it
RUN mkdir -p data && chown node:node data
USER node
# RTMFP (UDP) and RTMP (TCP) on their default port, HTTP/WebSocket on 80 (Docker lets an unprivileged user bind
# ports below 1024 inside a container: net.ipv4.ip_unprivileged_port_start is 0 there); config keys [RTMFP] port,
# [RTMP] port, [HTTP] port change them
EXPOSE 1935/udp 1935/tcp 80/tcp
# nimbus.ini is read from the working directory when present (mount it at /srv/nimbus/nimbus.ini);
# keys can also be given as arguments: docker run … nimbus --RTMFP.port=1936
VOLUME ["/srv/nimbus/data"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli.js"]
