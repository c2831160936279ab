# slate-replicator container image.
#   docker build -t slate-replicator .
#   docker run -v /etc/slate-replicator:/etc/slate-replicator:ro -p 8080:8080 slate-replicator
# The image runs `slate-replicator -c /etc/slate-replicator/config.js --http-port 8080`:
# mount the configuration there; /healthz, /readyz, /status and /metrics answer on 8080.
# test/dockerfile.test.ts runs this file's build steps without Docker: keep them in step.

# Build: every dependency (the TypeScript compiler is a dev dependency, and its native
# binary an optional one, so never --omit=optional here), compile, then drop the dev
# dependencies. No dependency needs an install script at run time.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Run: the compiled code, production dependencies and the schema files, as the image's
# unprivileged `node` user, under tini so that SIGTERM reaches the replicator and it
# stops cleanly (PID 1 gets no default signal handling).
FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY sql ./sql
COPY config.example.js ./
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The same V8 flag as the first line of src/cli.ts (why: see there).
ENTRYPOINT ["tini", "--", "node", "--max-semi-space-size=1", "--v8-pool-size=1", "--optimize-for-size", "/app/dist/cli.js"]
CMD ["-c", "/etc/slate-replicator/config.js", "--http-port", "8080"]
