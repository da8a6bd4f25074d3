# callbridge container image (docs/containers.md). Multi-stage:
#   deps     - every dependency, compiled with the toolchain (better-sqlite3 builds from source
#              when no prebuilt binary can be downloaded)
#   prod     - the same tree pruned to production dependencies (tsx runs the TypeScript at runtime,
#              so `npm start` needs no build step)
#   emulator - the Gemini Live emulator (its speech synthesis is a devDependency): for
#              deploy/compose.yaml and local testing only, never production
#   runtime  - the server: production dependencies only, as the unprivileged `node` user, with a
#              healthcheck on /readyz (503 while draining or at capacity, so the proxy stops
#              sending new calls there)
# Build: docker build -t callbridge .      Emulator: docker build --target emulator -t callbridge-emulator .

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci

FROM deps AS prod
RUN npm prune --omit=dev

FROM ${NODE_IMAGE} AS emulator
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
COPY scenarios ./scenarios
USER node
EXPOSE 9090
CMD ["node", "--import", "tsx", "scripts/emulator.ts", "--host", "0.0.0.0", "--port", "9090"]

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    DATA_DIR=/data \
    FLOWS_DIR=/app/flows \
    TOOLS_DIR=/app/tools \
    SCENARIOS_DIR=/app/scenarios
WORKDIR /app
COPY --from=prod /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY assets ./assets
COPY flows ./flows
COPY tools ./tools
COPY scenarios ./scenarios
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# /readyz answers 200 when this instance takes calls; no curl in the slim image, so Node asks.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM drains: readiness off, calls finish up to SHUTDOWN_DEADLINE_MS (give the container a
# longer stop grace period, e.g. compose stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "src/main.ts"]
