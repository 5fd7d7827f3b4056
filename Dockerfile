# syntax=docker/dockerfile:1
# pitlane in a container: one image for every service (serve models / embed / ingest), the Python ingest baseline
# and the lab. docs/deploy.md explains how to build and run it, and what was and was not tested.
#   docker build -t pitlane .
#   docker run --rm -p 8000:8000 -p 8001:8001 pitlane serve models --host 0.0.0.0
#   docker compose up          # the seed's topology (compose.yaml)

# ---- build: native modules, TypeScript, the bundle and the models ---------------------------------------------
FROM node:20-bookworm AS build
# g++, make and python3 for native modules that have no prebuilt binary for this platform (node-gyp).
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Dependencies first (their layer is cached while only the sources change). --ignore-scripts skips the package's
# own `prepare` (it needs the sources, copied below); `npm rebuild` then runs the dependencies' install scripts.
RUN npm ci --ignore-scripts && npm rebuild
COPY . .
RUN npm run build && npm run build:models
# What the runtime stage takes: production dependencies only, no tests.
RUN npm prune --omit=dev && rm -rf dist-test test

# ---- runtime -------------------------------------------------------------------------------------------------
FROM node:20-bookworm-slim
# Debian's Python and the packages the services need (scripts/setup-test-deps.sh says which needs what):
#  - python3: Python pipeline nodes (the worker in src/python/worker);
#  - fastapi, uvicorn, multipart, httpx, pil, numpy, uvloop, httptools: the Python ingest baseline;
#  - grpcio, protobuf, protoc and grpc_python_plugin: the baseline's KServe v2 gRPC client (its stubs are generated
#    from proto/ at first use, into the user's cache).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-fastapi python3-uvicorn python3-multipart python3-httpx python3-pil python3-numpy \
      python3-uvloop python3-httptools python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PITLANE_PYTHON=/usr/bin/python3
WORKDIR /app
# The whole prepared tree of the build stage (bin, dist, node_modules, models, models.yaml, baselines, proto,
# src/python ...), owned by root and read-only for the service user.
COPY --from=build /app /app
# A non-root user; /data holds what services write (the SQLite index, uploads' spool is the temp folder).
RUN groupadd --system pitlane \
 && useradd --system --gid pitlane --create-home --home-dir /home/pitlane pitlane \
 && mkdir -p /data \
 && chown pitlane:pitlane /data
USER pitlane
VOLUME ["/data"]
# 8000: KServe v2 HTTP (serve models), 8001: KServe v2 gRPC (serve models), 8080: TEI / OpenAI (serve embed).
EXPOSE 8000 8001 8080
# Each service answers its own health URL; compose.yaml sets PITLANE_HEALTH_URL per service. The default is the
# model server's readiness (200 once every model is loaded).
ENV PITLANE_HEALTH_URL=http://127.0.0.1:8000/v2/health/ready
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.PITLANE_HEALTH_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# pitlane handles SIGTERM itself (requests in flight finish); `docker run --init` / compose's `init: true` adds a
# PID 1 that also reaps the Python processes it starts.
ENTRYPOINT ["node", "bin/pitlane.js"]
CMD ["serve", "models", "--host", "0.0.0.0"]
