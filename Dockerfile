# syntax=docker/dockerfile:1
# peer-signal image: build dist/ (every dependency inlined), then ship only dist/, the bin shim and package.json on node:22-alpine.
# Run with `docker run --init -p 9000:9000 peer-signal` so Ctrl-C and `docker stop` reach Node directly.

FROM node:22-alpine AS build
WORKDIR /app
# The lockfile first, so the dependency layer is reused while only the sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:22-alpine
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=9000
# V8's defaults are kept; `-e NODE_OPTIONS=--max-semi-space-size=1` trades CPU under load for less memory per idle peer (README: Tuning).
# dist/ inlines every dependency, so there is no npm install here. All of dist/ is copied: cli.js imports shared chunks,
# and the Redis backend and the spinner are chunks loaded only when needed. package.json is needed for "type": "module":
# bin/peer-signal.js imports the ESM bundle. The files stay owned by root, read-only for the node user.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/bin/ ./bin/
COPY --from=build /app/dist/ ./dist/
USER node
EXPOSE 9000
# Exec form through our own CLI: no curl or shell needed; `health` reads the same HOST/PORT as the server.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s CMD ["node", "/app/bin/peer-signal.js", "health"]
ENTRYPOINT ["node", "/app/bin/peer-signal.js"]
