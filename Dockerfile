# Hookline: API, admin console and delivery worker in one image. Configure it with environment variables (README).
FROM node:22-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    HOOKLINE_DATA_DIR=/data

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --include=dev
COPY . .
# Build whatever the package builds (the console, if it has a build step), then drop the dev dependencies.
RUN npm run build --if-present && npm prune --omit=dev && npm cache clean --force \
    && mkdir -p /data && chown node:node /data

USER node
VOLUME /data
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# The node entry point itself, not `npm start`, so that SIGTERM reaches Hookline and it shuts down gracefully.
CMD ["node", "bin/hookline.js", "serve"]
