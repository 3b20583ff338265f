#!/usr/bin/env bash
# Example CI job without Node: start the lab image, start your MTA container pointed at it, send one message per
# scenario, wait for the verdicts over the lab's HTTP API with curl, and write them as JUnit XML (report.xml) for the
# CI's test view. The exit status is the report's: 0 when no scenario failed.
#
# Needs: Docker with host networking, curl, the lab image (`npm run image` in a danelab checkout), an MTA image (here
# the lab's Debian Postfix with ../vitest-postfix/main.cf; replace steps 2 and 3 with your MTA).
# Run: bash ci.sh        (environment: LAB_IMAGE, POSTFIX_IMAGE, MAIN_CF, LAB_*_ADDRESS, REPORT)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

LAB_IMAGE="${LAB_IMAGE:-localhost/danelab:latest}"
POSTFIX_IMAGE="${POSTFIX_IMAGE:-localhost/danelab-postfix:latest}"
MAIN_CF="${MAIN_CF:-$here/../vitest-postfix/main.cf}"
DNS="${LAB_DNS_ADDRESS:-127.0.53.1}"
SMTP="${LAB_SMTP_ADDRESS:-127.0.25.1}"
HTTP="${LAB_HTTP_ADDRESS:-127.0.0.1}"
REPORT="${REPORT:-report.xml}"
SCENARIOS=(ta-baseline ee-mismatch tlsa-insecure)
RUN=ci1
API="http://$HTTP:8025"

state="$(mktemp -d)"
lab="danelab-ci-$$"
mta="danelab-ci-mta-$$"
cleanup() {
  docker rm -f "$lab" "$mta" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

# 1. The lab: host networking (one loopback address per MX host), its state in a host directory.
docker run -d --name "$lab" --network host -v "$state:/state" "$LAB_IMAGE" \
  up --state-dir /state --only "$(IFS=,; echo "${SCENARIOS[*]}")" \
  --dns-address "$DNS" --smtp-address "$SMTP" --http-address "$HTTP" >/dev/null
for _ in $(seq 120); do
  curl -fsS "$API/api/health" >/dev/null 2>&1 && break
  if [ "$(docker inspect -f '{{.State.Running}}' "$lab")" != true ]; then
    echo "ci: the lab exited before it was ready:" >&2
    docker logs --tail 20 "$lab" >&2
    exit 2
  fi
  sleep 0.5
done
curl -fsS "$API/api/health" >/dev/null

# 2. Your MTA: the lab's DNS in its resolv.conf (`options trust-ad`, or glibc drops the DNSSEC AD bit).
printf 'nameserver %s\noptions trust-ad edns0\n' "$DNS" >"$state/resolv.conf"
docker run -d --name "$mta" --network host \
  -v "$MAIN_CF:/etc/postfix/main.cf:ro" -v "$state/resolv.conf:/etc/resolv.conf:ro" "$POSTFIX_IMAGE" \
  sh -c "postconf -MX smtp/inet; postconf -F '*/*/chroot = n'
install -d -o postfix -g root -m 700 /var/spool/postfix/hold /var/spool/postfix/trace
exec postfix start-fg" >/dev/null
for _ in $(seq 60); do docker exec "$mta" postfix status >/dev/null 2>&1 && break || sleep 0.5; done

# 3. One message per scenario, to run-<RUN>@<scenario domain> (the manifest names each scenario's domain).
recipients=()
for id in "${SCENARIOS[@]}"; do
  domain="$(curl -fsS "$API/api/scenarios/$id" | grep -o '"domain": *"[^"]*"' | head -1 | sed 's/.*"\([^"]*\)\.\?"$/\1/')"
  recipients+=("run-$RUN@${domain%.}")
done
docker exec "$mta" sh -c 'printf "Subject: danelab CI\n\nhello\n" | sendmail -f ci@example.invalid "$@"' sh "${recipients[@]}"

# 4. Wait until no scenario is pending or untested (Postfix retries deferred mail on `postqueue -f`).
for i in $(seq 60); do
  curl -fsS "$API/api/report?run=$RUN&format=json" | grep -Eq '"verdict": *"(pending|not-tested)"' || break
  [ $((i % 10)) -eq 0 ] && docker exec "$mta" postqueue -f
  sleep 1
done

# 5. The verdicts as JUnit XML; the report's exit status (1 = a scenario failed) is the job's.
status=0
docker run --rm --network host -v "$state:/state" "$LAB_IMAGE" report --run "$RUN" --format junit --state-dir /state \
  >"$REPORT" || status=$?
echo "ci: wrote $REPORT ($(grep -c '<testcase ' "$REPORT") scenarios); exit status $status"
exit "$status"
