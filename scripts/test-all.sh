#!/usr/bin/env bash
# The whole test suite — the command the README gives (`npm test`) and the one .ci/run calls.
# It sets up what the tests need first (Debian packages, the Docker engine, client images; idempotent, seconds when
# already done), then runs the formatter/linter, the type check and every test (unit and integration) with vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/setup-host.sh
  export DANELAB_REQUIRE_CLIENTS=1 # from here on a missing engine or client image fails the client matrix test
else
  echo "test-all: not running as root, so the host set-up (Debian packages, Docker engine, client images) is skipped;" >&2
  echo "test-all: tests that need those tools will fail. Run 'sudo npm test' once, or 'sudo bash scripts/setup-host.sh'." >&2
fi

echo "== build"
npm run --silent build
echo "== lint and format (biome)"
npx biome ci .
echo "== type check (tsc, strict)"
npm run --silent typecheck
echo "== tests (vitest)"
mkdir -p test-artifacts
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@" || status=$?
echo "== the same lab code on Node 22 and 24 (unit tests, whole-lab and SMTP/TLS integration tests)"
rm -f test-artifacts/node-*.vitest.json
bash scripts/test-node-versions.sh 22 24 || status=1
# One plain closing line for everything above: the main run plus the runs on Node 22 and 24.
node -e '
  const fs = require("fs");
  const files = fs.readdirSync("test-artifacts").filter((f) => /^(vitest|node-\d+\.vitest)\.json$/.test(f));
  let passed = 0, failed = 0, skipped = 0;
  for (const f of files) {
    const r = JSON.parse(fs.readFileSync(`test-artifacts/${f}`, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' || true
exit "$status"
