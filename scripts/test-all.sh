#!/usr/bin/env bash
# The whole test suite — the command the README gives (`npm test`) and the one .ci/run calls.
# It sets up what the tests need first (Debian packages, the Docker engine, client images; idempotent, seconds when
# already done), then runs the formatter/linter, the type check and every test (unit and integration) with vitest,
# and fails when anything after the set-up changed the host's packages or service configuration.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/setup-host.sh
  export DANELAB_REQUIRE_CLIENTS=1 # from here on a missing engine or client image fails the client matrix test
else
  echo "test-all: not running as root, so the host set-up (Debian packages, Docker engine, client images) is skipped;" >&2
  echo "test-all: tests that need those tools will fail. Run 'sudo npm test' once, or 'sudo bash scripts/setup-host.sh'." >&2
fi

# From here on the run must leave the host as the set-up left it: no package installed, removed or upgraded, no MTA,
# resolver or Docker configuration touched (scripts/host-state.sh lists what it watches). Compared on every exit.
mkdir -p test-artifacts
host_state=test-artifacts/host-state.before
bash scripts/host-state.sh snapshot "$host_state"
check_host_state() {
  local rc=$?
  echo "== the host as the set-up left it (scripts/host-state.sh)"
  if ! bash scripts/host-state.sh compare "$host_state"; then
    echo "test-all: FAILED: the run changed the host (listed above). A test or tool must not install, remove or" >&2
    echo "test-all: reconfigure the host's own packages and services; find the test that did and fix it." >&2
    rc=1
  fi
  exit "$rc"
}
trap check_host_state EXIT

echo "== build"
npm run --silent build
echo "== lint and format (biome)"
npx biome ci .
echo "== type check (tsc, strict)"
npm run --silent typecheck
echo "== tests (vitest)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@" || status=$?
if [ "$#" -eq 0 ]; then
  echo "== the classroom: 30 clients and 2 Postfix containers at once against one lab (alone on the machine)"
  rm -f test-artifacts/classroom.vitest.json
  DANELAB_CLASSROOM=1 npx vitest run test/classroom.test.ts --reporter=default --reporter=json \
    --outputFile.json=test-artifacts/classroom.vitest.json || status=1
fi
echo "== the same lab code on Node 22 and 24 (unit tests, whole-lab and SMTP/TLS integration tests)"
rm -f test-artifacts/node-*.vitest.json
bash scripts/test-node-versions.sh 22 24 || status=1
# One plain closing line for everything above: the main run, the classroom and the runs on Node 22 and 24.
node -e '
  const fs = require("fs");
  const files = fs.readdirSync("test-artifacts").filter((f) => /^(vitest|classroom\.vitest|node-\d+\.vitest)\.json$/.test(f));
  let passed = 0, failed = 0, skipped = 0;
  for (const f of files) {
    const r = JSON.parse(fs.readFileSync(`test-artifacts/${f}`, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' || true
exit "$status"
