import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The bundle goes into the Python package, which serves it at / (lineal.server.ui).
const outDir = fileURLToPath(new URL("../src/lineal/server/ui_static", import.meta.url));

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir,
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
    sourcemap: false,
  },
  worker: { format: "es" },
  server: {
    // `npm run dev` beside `lineal ui` (port 8471): the API is proxied to it.
    proxy: { "/api": "http://127.0.0.1:8471" },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
