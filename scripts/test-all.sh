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
# One plain closing line, whatever the runner printed above it.
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-artifacts/vitest.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
exit "$status"
