// vitest settings for the example: containers take seconds to start, and each file gets its own lab.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { include: ["*.test.ts"], testTimeout: 120_000, hookTimeout: 180_000 },
});
