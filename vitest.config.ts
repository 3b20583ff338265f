// One runner for everything: unit tests live next to the code (`*.test.ts`), integration tests against real tools
// (openssl, gnutls-cli, dig, delv, unbound, swaks, Exim, Postfix) live in `test/`.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{lab,certs,zones,clients,scripts}/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["node_modules", "dist", ".lab"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default"],
  },
});
