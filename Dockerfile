# wecred's node:http server in production (README "Run in production"): built with the project's
# toolchain, then one self-contained file (dist/wecred-server.mjs) on a slim Node image, run as the
# image's non-root user. The file store (the default, ./.wecred) is a volume; mount a wecred.json
# at /app/wecred.json or set WECRED_CONFIG / WECRED_CONFIG_JSON.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && mkdir -p out/.wecred && cp dist/wecred-server.mjs out/

FROM node:22-bookworm-slim
WORKDIR /app
COPY --from=build --chown=node:node /src/out ./
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3030
USER node
VOLUME /app/.wecred
EXPOSE 3030
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3030) + '/ping').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "wecred-server.mjs"]
