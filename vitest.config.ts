// One runner for everything: unit tests live next to the code (`*.test.ts`), integration tests against real tools
// (openssl, gnutls-cli, dig, delv, unbound, swaks, Exim, Postfix) live in `test/`.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{cli,lab,certs,zones,dane,clients,scripts}/**/*.test.ts", "test/**/*.test.ts"],
    // The classroom (30 clients and 2 Postfix containers at once) loads both cores for three minutes: scripts/test-all.sh
    // runs it on its own after the rest (DANELAB_CLASSROOM=1), so it neither slows nor disturbs the other files.
    exclude: ["node_modules", "dist", ".lab", ...(process.env["DANELAB_CLASSROOM"] ? [] : ["test/classroom.test.ts"])],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default"],
  },
});
