// Builds the training board (lab/ui) into dist/ui: one HTML page, one script, one stylesheet, all served by the lab's
// HTTP API at `/` — no CDN, nothing fetched from the internet. `npm run build` runs it after tsc.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  base: "./",
  logLevel: "warn",
  build: {
    outDir: fileURLToPath(new URL("../../dist/ui", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    assetsInlineLimit: 0,
  },
});
