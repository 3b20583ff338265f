#!/usr/bin/env bash
# The whole test suite — the command the README gives (`npm test`) and the one .ci/run calls.
# It sets up what the tests need first (Debian packages, the Docker engine, client images; idempotent, seconds when
# already done), then runs the formatter/linter, the type check and every test (unit and integration) with vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/setup-host.sh
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
npx vitest run "$@"
