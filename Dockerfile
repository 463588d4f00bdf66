# syntax=docker/dockerfile:1
# One image for the long-running processes: the engine (`run`, the default), the audit sink
# (`sink audit`) and the analysts' console (`console`). The model, the default configuration,
# rules and Avro schemas and the audit migrations are inside; the Python training toolchain is not.
# Built with `docker build -t fraud-engine .` (docs/deploy.md).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# onnxruntime-node's install script only downloads optional GPU binaries: the CPU ones are in the package.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: `prepare` (tsc) needs the sources, copied below; tsc runs once, explicitly.
RUN npm ci --no-audit --no-fund --loglevel=error --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
# Compile, drop the dev dependencies, and keep only Linux of onnxruntime-node's runtimes (~290 MB for all platforms).
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v*/darwin node_modules/onnxruntime-node/bin/napi-v*/win32 \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    # Containers listen on every interface (the default config binds loopback only).
    FRAUD_ENGINE_HTTP_HOST=0.0.0.0 \
    # The port HEALTHCHECK probes: 9464 for `run`; set 9465 for `sink audit`, 8080 for `console`.
    FRAUD_HEALTHCHECK_PORT=9464 \
    # Nothing is written outside /tmp, so the root filesystem can be mounted read-only.
    HOME=/tmp
WORKDIR /app
COPY --from=build --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root config ./config
COPY --chown=root:root models ./models
# `fraud-engine migrate` (and the audit sink at start-up) apply these (src/storage/migrate.ts reads them beside dist/).
COPY --chown=root:root src/storage/migrations ./src/storage/migrations
# The console's stylesheet and scripts, served from the source tree like the migrations.
COPY --chown=root:root src/console/assets ./src/console/assets
# The image's files belong to root and are read-only for the process: uid 1000 is the image's `node` user.
USER 1000:1000
EXPOSE 9464 9465 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.FRAUD_HEALTHCHECK_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form, node directly (not npm/npx: they write caches): SIGTERM reaches the engine's clean shutdown.
ENTRYPOINT ["node", "bin/fraud-engine.js"]
CMD ["run"]
