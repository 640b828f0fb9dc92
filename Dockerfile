# One image for every role (ROLE=bot, worker or all) and for the operator CLI (`fluxbot …`).

# Build stage: compile TypeScript (and copy the playground's page files into dist/).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install`, not `npm ci`: a lock file written on another platform can lack optional platform packages
# (msgpackr-extract's), and `npm ci` then stops with "Missing: … from lock file".
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies and the compiled program only, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# `fluxbot quota show …` inside the container (docker compose run --rm bot fluxbot …): bin/ runs dist/ when there is no src/.
RUN ln -s /app/bin/fluxbot.js /usr/local/bin/fluxbot
USER node
EXPOSE 8080 3000
# The slim image has neither curl nor wget: Node's own fetch asks /readyz (Redis and, for the bot, its platforms).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HTTP_PORT || 8080}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
