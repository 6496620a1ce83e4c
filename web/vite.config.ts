/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The production build goes to dist/ (served by `python -m server.webapp`,
// or any static server that forwards /api to the REST bridge).
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", chunkSizeWarningLimit: 2000 },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    // A loaded CI machine renders Material UI slowly; no test waits on purpose.
    testTimeout: 30_000,
  },
});
