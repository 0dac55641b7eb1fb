import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * Builds the console into console/dist, which the Hookline server serves at `/`. `npm run console:dev` serves it
 * with hot reload and forwards /graphql (HTTP and WebSocket) to a Hookline on HOOKLINE_URL (default :4000).
 */
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: {
      '/graphql': { target: process.env.HOOKLINE_URL ?? 'http://127.0.0.1:4000', ws: true },
    },
  },
});
