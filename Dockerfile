# Production image: the ykt server, non-root, data in a volume. Not exercised by CI (no Docker engine there).
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY seeds ./seeds
COPY views ./views
COPY static ./static
COPY docs ./docs
COPY scripts ./scripts
COPY tsconfig.json ./
# The `ykt` command's compiled bundle (dist/), built here: the running image cannot write to /app.
RUN node scripts/build.mjs

FROM node:20-bookworm-slim
ENV NODE_ENV=production YKT_DATA_DIR=/data PORT=3000
WORKDIR /app
COPY --from=build /app /app
RUN useradd --system --uid 10001 --home-dir /data ykt && mkdir -p /data && chown ykt /data
USER ykt
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:3000/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/ykt.js", "serve"]
