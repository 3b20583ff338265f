#!/usr/bin/env bash
# Host set-up for danelab's tests and client matrix, on Debian/Ubuntu, as root. Idempotent: a second run only checks
# and takes seconds. It
#   1. installs the Debian packages the tests use (apt-get update only when something is missing), without leaving the
#      packaged unbound/nsd daemons running where they would take port 53;
#   2. configures and starts the Docker engine (no bridge, no iptables/NAT: containers use the host's loopback);
#   3. builds the client images (Exim/GnuTLS, Postfix/OpenSSL, probe) from Debian packages with debootstrap +
#      `docker import` — no registry is ever contacted (scripts/images/build.sh; rebuilt only when missing).
#
#   bash scripts/setup-host.sh [--no-images] [--quiet]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
images=1
quiet=0
for arg in "$@"; do
  case "$arg" in
    --no-images) images=0 ;;
    --quiet) quiet=1 ;;
    -h | --help)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup-host: unknown option '$arg' (known: --no-images, --quiet)" >&2
      exit 2
      ;;
  esac
done

log() { [ "$quiet" = 1 ] || echo "setup-host: $*" >&2; }
die() {
  echo "setup-host: $*" >&2
  exit 1
}
started=$SECONDS

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs Debian packages and starts the Docker engine). Run: sudo bash $0"
command -v apt-get >/dev/null && command -v dpkg-query >/dev/null ||
  die "this host has no apt-get/dpkg: the set-up supports Debian and Ubuntu only. Install by hand: openssl gnutls-bin \
dig/delv (bind9) ldns unbound swaks dnsperf nsd debootstrap docker, then rerun without the package step."

# --- 1. Debian packages ----------------------------------------------------------------------------------------------
# postfix is deliberately absent: it lives only in the client image (a host Postfix would bind port 25).
PACKAGES=(openssl gnutls-bin bind9-dnsutils bind9-utils ldnsutils unbound swaks libnet-ssleay-perl dnsperf nsd debootstrap docker.io
  containerd iproute2 procps)
# Only the web-UI tests need a browser; a host without a `chromium` package (Ubuntu ships it as a snap) still gets
# everything else.
OPTIONAL_PACKAGES=(chromium)

missing_packages() {
  local p status
  for p in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
    [ "$status" = installed ] || echo "$p"
  done
}

# Docker reads this at start: no docker0 bridge, no iptables rules, no forwarding/NAT. Containers run with
# --network host and reach the lab on 127.x.y.z directly. Written before docker.io is installed so the engine never
# starts with a bridge.
DAEMON_JSON='{"bridge":"none","iptables":false,"ip6tables":false,"ip-forward":false,"ip-masq":false}'
mkdir -p /etc/docker
if [ "$(cat /etc/docker/daemon.json 2>/dev/null || true)" != "$DAEMON_JSON" ]; then
  [ -f /etc/docker/daemon.json ] && cp /etc/docker/daemon.json "/etc/docker/daemon.json.before-danelab"
  echo "$DAEMON_JSON" >/etc/docker/daemon.json
  log "wrote /etc/docker/daemon.json (no bridge, no iptables)"
  daemon_json_changed=1
else
  daemon_json_changed=0
fi

apt_quiet=()
[ "$quiet" = 1 ] && apt_quiet=(-qq)
own_policy=0
mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  # Package scripts must not start services (no init system here; the lab starts its own unbound on its own
  # address). Keep an existing policy-rc.d, add a temporary one otherwise.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# danelab setup-host: no service starts during package installation\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  # apt-get update only when needed: the package lists are missing or an install fails for lack of them.
  if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
    apt-get "${apt_quiet[@]}" update >&2
  fi
  if ! apt-get "${apt_quiet[@]}" install -y --no-install-recommends "${missing[@]}" >&2; then
    log "install failed; refreshing the package lists and retrying"
    apt-get "${apt_quiet[@]}" update >&2
    apt-get "${apt_quiet[@]}" install -y --no-install-recommends "${missing[@]}" >&2 ||
      { [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d; die "apt-get install ${missing[*]} failed (see above)"; }
  fi
  mapfile -t still < <(missing_packages)
  [ "${#still[@]}" -eq 0 ] || die "still not installed after apt-get: ${still[*]}"
fi
for p in "${OPTIONAL_PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
    log "installing $p (for the web UI tests)"
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 0755 /usr/sbin/policy-rc.d
      own_policy=1
    fi
    apt-get "${apt_quiet[@]}" install -y --no-install-recommends "$p" >&2 ||
      log "warning: could not install $p; the web UI browser tests will be skipped or fail"
  fi
done
[ "${own_policy:-0}" = 1 ] && rm -f /usr/sbin/policy-rc.d
[ "${#missing[@]}" -gt 0 ] || log "packages: all ${#PACKAGES[@]} installed"

# The packaged resolvers must not hold port 53 (127.0.0.1 and the lab's 127.0.53.x): stop the system instances only,
# through their own init scripts and pid files — never the lab's unbound, which runs with its own -c config.
for svc in unbound nsd; do
  pidfile=""
  case "$svc" in
    unbound) pidfile=/run/unbound.pid ;;
    nsd) pidfile=/run/nsd/nsd.pid ;;
  esac
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "stopping the packaged $svc daemon (pid $(cat "$pidfile")) so it does not hold port 53"
    if [ -x "/etc/init.d/$svc" ]; then "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; fi
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then kill "$(cat "$pidfile")" || true; fi
  fi
done
if command -v ss >/dev/null; then
  holders="$(ss -Hlnup 'sport = :53' 2>/dev/null | grep -oE 'users:\(\("(unbound|nsd)",pid=[0-9]+' | sort -u || true)"
  if [ -n "$holders" ]; then
    while read -r h; do
      pid="${h##*pid=}"
      args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
      # A daemon started with the Debian default configuration (no -c, or /etc/...) is the packaged one.
      if [[ "$args" != *" -c "* ]] || [[ "$args" == *" -c /etc/"* ]]; then
        log "warning: '$args' (pid $pid) listens on port 53 with the system configuration; stop it (kill $pid) if the lab cannot bind its DNS address"
      fi
    done <<<"$holders"
  fi
fi

# --- 2. Docker engine --------------------------------------------------------------------------------------------------
docker_ready() { timeout 10 docker info >/dev/null 2>&1; }

start_dockerd() {
  local driver="$1" i
  log "starting dockerd (storage driver $driver, log /var/log/dockerd.log)"
  # setsid: the engine outlives this script and the shell that ran it.
  setsid dockerd --storage-driver "$driver" >>/var/log/dockerd.log 2>&1 </dev/null &
  local pid=$!
  for i in $(seq 1 60); do
    if docker_ready; then
      log "dockerd ready after ${i}x0.5s (pid $pid)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

if docker_ready; then
  [ "$daemon_json_changed" = 1 ] &&
    log "warning: dockerd was already running when /etc/docker/daemon.json changed; restart it to apply the new settings"
  log "docker engine: running ($(docker info -f '{{.ServerVersion}}, {{.Driver}}' 2>/dev/null))"
else
  command -v dockerd >/dev/null || die "dockerd not found although docker.io is installed; reinstall docker.io"
  if [ -S /var/run/docker.sock ] && ! pgrep -x dockerd >/dev/null; then rm -f /var/run/docker.sock; fi
  if ! start_dockerd overlay2; then
    # The half-started engine (if any) exits on its own when overlay2 is unusable; make sure it is gone.
    pid="$(pgrep -xo dockerd || true)"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && sleep 2
    log "overlay2 did not work here; falling back to vfs (slower container starts)"
    start_dockerd vfs || die "dockerd did not become ready within 30 s with overlay2 or vfs; see /var/log/dockerd.log"
  fi
fi

# Client containers of earlier runs (testcontainers' reaper, Ryuk, cannot be pulled here): stopped ones, and running
# ones older than 30 minutes. Young running ones may belong to a test or check running right now.
now=$(date +%s)
stale=()
while IFS=$'\t' read -r id state created; do
  [ -n "$id" ] || continue
  started_at=$(date -d "${created% *}" +%s 2>/dev/null || echo 0)
  if [ "$state" != running ] || [ $((now - started_at)) -gt 1800 ]; then stale+=("$id"); fi
done < <(docker ps -a --filter label=org.danelab.client --format '{{.ID}}	{{.State}}	{{.CreatedAt}}' 2>/dev/null || true)
if [ "${#stale[@]}" -gt 0 ]; then
  log "removing ${#stale[@]} leftover client container(s)"
  docker rm -f "${stale[@]}" >/dev/null 2>&1 || true
fi

# --- 3. Client images ----------------------------------------------------------------------------------------------
if [ "$images" = 1 ]; then
  names=(exim postfix probe)
  todo=()
  for n in "${names[@]}"; do
    tag="$(bash "$here/images/build.sh" --tag "$n")"
    if docker image inspect "$tag" >/dev/null 2>&1; then
      docker tag "$tag" "localhost/danelab-$n:latest"
      log "image $tag present"
    else
      todo+=("$n")
    fi
  done
  if [ "${#todo[@]}" -gt 0 ]; then
    # Each debootstrap needs a few hundred MB of memory at most; build in parallel when there is room.
    avail_mb="$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)"
    parallel=1
    [ "${avail_mb:-0}" -ge $((${#todo[@]} * 768)) ] && parallel=0
    log "building image(s) ${todo[*]} ($([ "$parallel" = 0 ] && echo in parallel || echo one by one)); about a minute"
    img_start=$SECONDS
    declare -A pids=()
    failed=()
    for n in "${todo[@]}"; do
      if [ "$parallel" = 0 ]; then
        bash "$here/images/build.sh" "$n" >"/var/tmp/danelab-image-$n.out" 2>&1 &
        pids[$n]=$!
      else
        bash "$here/images/build.sh" "$n" >"/var/tmp/danelab-image-$n.out" 2>&1 || failed+=("$n")
      fi
    done
    for n in "${!pids[@]}"; do wait "${pids[$n]}" || failed+=("$n"); done
    for n in "${todo[@]}"; do
      if [[ " ${failed[*]} " == *" $n "* ]]; then
        echo "setup-host: building the $n image failed:" >&2
        cat "/var/tmp/danelab-image-$n.out" >&2
      else
        log "image $(tail -n 1 "/var/tmp/danelab-image-$n.out")"
      fi
      rm -f "/var/tmp/danelab-image-$n.out"
    done
    [ "${#failed[@]}" -eq 0 ] || die "image build failed for: ${failed[*]}"
    log "images built in $((SECONDS - img_start))s"
  fi
fi

log "done in $((SECONDS - started))s"
