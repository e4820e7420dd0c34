# Production image for the Stepwise API and worker (same image, different command).
# Node 22 LTS at an exact release, the same as .nvmrc (test/unit/build-conventions.test.ts checks
# both stages, .nvmrc and package.json engines agree; docs/dependencies.md says why this version).
FROM node:22.23.3-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
# better-sqlite3 (the import index) is native: fetch its prebuilt binary, or build it from source
# with the toolchain below (build stage only; the runtime image gets just the compiled module).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/* && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY scripts ./scripts
RUN npm run build:workflows && npm prune --omit=dev

FROM node:22.23.3-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Import root, index, scratch and datasets live under STEPWISE_DATA_DIR (a volume in docker-compose).
RUN mkdir -p /data && chown node:node /data
ENV STEPWISE_DATA_DIR=/data
USER node
EXPOSE 3000
# Override with `node dist/src/worker.js` for the worker.
CMD ["node", "--enable-source-maps", "dist/src/main.js"]
