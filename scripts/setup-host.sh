#!/usr/bin/env bash
# Host set-up for danelab's tests and client matrix, on Debian/Ubuntu, as root. Idempotent: a second run only checks,
# prints one line per part and takes seconds. It
#   1. installs the Debian packages of scripts/host.packages that are missing (apt-get update only when needed),
#      without starting the packaged unbound/nsd daemons, which would take port 53;
#   2. uses the Docker engine that is there as it is; only on a host without any engine does it install docker.io and
#      configure it (no bridge, no iptables/NAT: containers use the host's loopback);
#   3. builds the client images (Exim/GnuTLS, Postfix/OpenSSL, Postfix + MTA-STS resolver, probe) from Debian
#      packages with debootstrap + `docker import` — no registry is ever contacted (scripts/images/build.sh; rebuilt only when missing).
# Whatever it changes on the host is printed before it is done, with the command that undoes it.
#
#   bash scripts/setup-host.sh [--packages-only] [--no-images] [--packages-file FILE] [--quiet]
#     --packages-only       step 1 only (no Docker, no images): runs in a plain Debian container
#     --no-images           steps 1 and 2
#     --packages-file FILE  read the package list from FILE instead of scripts/host.packages (the fresh-host check)
#     --quiet               print only changes, warnings and errors
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
images=1
engine=1
quiet=0
package_file="$here/host.packages"
while [ $# -gt 0 ]; do
  case "$1" in
    --packages-only) engine=0 images=0 ;;
    --no-images) images=0 ;;
    --packages-file)
      [ $# -ge 2 ] || { echo "setup-host: --packages-file needs a file name" >&2; exit 2; }
      package_file="$2"
      shift
      ;;
    --quiet) quiet=1 ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *)
      echo "setup-host: unknown option '$1' (known: --packages-only, --no-images, --packages-file FILE, --quiet)" >&2
      exit 2
      ;;
  esac
  shift
done

log() { [ "$quiet" = 1 ] || echo "setup-host: $*" >&2; }
# A change to the host: always printed, before it is made, with its undo.
change() { echo "setup-host: $*" >&2; }
die() {
  echo "setup-host: $*" >&2
  exit 1
}
started=$SECONDS

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs Debian packages and starts the Docker engine). Run: sudo bash $0"
[ -r "$package_file" ] || die "cannot read the package list $package_file"

# --- the package list: "<package> <group>  # why" ---------------------------------------------------------------------
declare -A group_of=()
list_order=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  line="${line%%#*}"
  read -r pkg grp extra <<<"$line" || true
  [ -n "${pkg:-}" ] || continue
  case "${grp:-}" in
    tools | optional | images | engine) ;;
    *) die "$package_file:$lineno: '$pkg' has group '${grp:-}'; each line is '<package> <group>' with group tools, optional, images or engine" ;;
  esac
  [ -z "${extra:-}" ] || die "$package_file:$lineno: one package per line ('$pkg $grp $extra'); the reason goes after '#'"
  group_of[$pkg]=$grp
  list_order+=("$pkg")
done <"$package_file"
in_group() { for p in "${list_order[@]}"; do [ "${group_of[$p]}" != "$1" ] || echo "$p"; done; }

command -v apt-get >/dev/null && command -v dpkg-query >/dev/null ||
  die "this host has no apt-get/dpkg: the set-up supports Debian and Ubuntu only. Install by hand what $package_file \
lists (openssl, gnutls-cli, dig/delv, ldns, unbound, swaks with Net::SSLeay, dnsperf, nsd, debootstrap, a Docker engine), \
then check with 'npx danelab doctor'."

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]; }
missing_of() { for p in "$@"; do installed "$p" || echo "$p"; done; }

# --- 1. Debian packages ----------------------------------------------------------------------------------------------
# postfix is deliberately absent: it lives only in the client image (a host Postfix would bind port 25, and installing
# it removes an installed Exim).
mapfile -t wanted < <(in_group tools)
[ "$images" = 0 ] || mapfile -t -O "${#wanted[@]}" wanted < <(in_group images)

# The engine group only on a host without any Docker engine: a running engine, or an installed one (docker.io,
# docker-ce: docker.io would replace the latter), is used as it is.
docker_ready() { timeout 10 docker info >/dev/null 2>&1; }
install_engine=0
if [ "$engine" = 1 ] && ! docker_ready && ! command -v dockerd >/dev/null; then
  install_engine=1
  mapfile -t -O "${#wanted[@]}" wanted < <(in_group engine)
fi

apt_quiet=()
[ "$quiet" = 1 ] && apt_quiet=(-qq)
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
own_policy=0
cleanup() {
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ -n "${tmp:-}" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
no_service_starts() {
  # Package scripts must not start services (the lab starts its own unbound on its own address). Keep an existing
  # policy-rc.d, add a temporary one otherwise (removed on exit).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# danelab setup-host: no service starts during package installation\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
}
lists_present() { compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; }
# apt-get update only when needed: the package lists are missing, or an install fails for lack of fresh ones.
apt_install() {
  lists_present || apt-get "${apt_quiet[@]}" update >&2 || return 1
  apt-get "${apt_quiet[@]}" install -y --no-install-recommends "$@" >&2 && return 0
  log "install failed; refreshing the package lists and retrying"
  apt-get "${apt_quiet[@]}" update >&2 && apt-get "${apt_quiet[@]}" install -y --no-install-recommends "$@" >&2
}

# Written before docker.io is installed so the engine never starts with a bridge: no docker0, no iptables rules, no
# forwarding/NAT. Containers run with --network host and reach the lab on 127.x.y.z directly.
DAEMON_JSON='{"bridge":"none","iptables":false,"ip6tables":false,"ip-forward":false,"ip-masq":false}'
if [ "$install_engine" = 1 ] && [ ! -e /etc/docker/daemon.json ]; then
  change "writing /etc/docker/daemon.json for the engine installed below (no bridge, no iptables): undo with rm /etc/docker/daemon.json"
  mkdir -p /etc/docker
  echo "$DAEMON_JSON" >/etc/docker/daemon.json
fi

mapfile -t missing < <(missing_of "${wanted[@]}")
if [ "${#missing[@]}" -gt 0 ]; then
  change "installing ${#missing[@]} Debian package(s): ${missing[*]}: undo with apt-get purge ${missing[*]} && apt-get autoremove"
  no_service_starts
  apt_install "${missing[@]}" || die "apt-get install ${missing[*]} failed (see above)"
  mapfile -t still < <(missing_of "${missing[@]}")
  [ "${#still[@]}" -eq 0 ] || die "still not installed after apt-get: ${still[*]}"
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    for svc in unbound nsd; do
      [[ " ${missing[*]} " != *" $svc "* ]] ||
        log "note: the packaged $svc service was installed but not started; it would take port 53 at the next boot: systemctl disable $svc"
    done
  fi
fi
mapfile -t optional < <(missing_of $(in_group optional))
for p in "${optional[@]}"; do
  if apt-cache show "$p" >/dev/null 2>&1 || ! lists_present; then
    change "installing $p (optional: the web UI tests): undo with apt-get purge $p && apt-get autoremove"
    no_service_starts
    apt_install "$p" || log "warning: could not install $p; the web UI browser tests will be skipped"
  else
    log "warning: this release has no $p package; the web UI browser tests will be skipped"
  fi
done
[ "${#missing[@]}" -gt 0 ] || log "packages: all ${#wanted[@]} installed"

# The packaged resolvers must not hold port 53 (127.0.0.1 and the lab's 127.0.53.x): stop the system instances only,
# through their own init scripts and pid files — never the lab's unbound, which runs with its own -c config.
for svc in unbound nsd; do
  pidfile=""
  case "$svc" in
    unbound) pidfile=/run/unbound.pid ;;
    nsd) pidfile=/run/nsd/nsd.pid ;;
  esac
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    change "stopping the packaged $svc daemon (pid $(cat "$pidfile")) so it does not hold port 53: undo with /etc/init.d/$svc start"
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

if [ "$engine" = 0 ]; then
  log "done in $((SECONDS - started))s (packages only)"
  exit 0
fi

# --- 2. Docker engine --------------------------------------------------------------------------------------------------
start_dockerd() {
  local driver="$1" i flags=()
  # An engine installed here without a daemon.json would create the docker0 bridge and NAT rules; give it the same
  # settings on its command line instead of writing the user's configuration file.
  [ -e /etc/docker/daemon.json ] ||
    flags=(--bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false)
  # setsid: the engine outlives this script and the shell that ran it.
  setsid dockerd --storage-driver "$driver" "${flags[@]}" >>/var/log/dockerd.log 2>&1 </dev/null &
  local pid=$!
  change "started dockerd (pid $pid, storage driver $driver${flags:+, no bridge/iptables on its command line}, log /var/log/dockerd.log): undo with kill $pid"
  for i in $(seq 1 60); do
    if docker_ready; then
      log "dockerd ready after ${i}x0.5s"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

if docker_ready; then
  log "docker engine: running ($(docker info -f '{{.ServerVersion}}, {{.Driver}}' 2>/dev/null)), used as it is"
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
  log "removing ${#stale[@]} leftover danelab client container(s)"
  docker rm -f "${stale[@]}" >/dev/null 2>&1 || true
fi

# --- 3. Client images ----------------------------------------------------------------------------------------------
if [ "$images" = 1 ]; then
  # This host's release (exim, postfix, probe), exim4-daemon-heavy (check --exim-image), and the other releases the
  # client matrix compares (name@suite: localhost/danelab-<name>-<suite>), and Postfix with Debian 12's
  # postfix-mta-sts-resolver 1.1.2 (test/clients.sts.test.ts: the release whose MTA-STS answer overrides DANE).
  names=(exim postfix probe exim-heavy exim@trixie postfix@trixie probe@bookworm postfix-sts@bookworm)
  todo=()
  for n in "${names[@]}"; do
    tag="$(bash "$here/images/build.sh" --tag "$n")"
    if docker image inspect "$tag" >/dev/null 2>&1; then
      docker tag "$tag" "${tag%:*}:latest"
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
    change "building Docker image(s) localhost/danelab-{$(IFS=,; echo "${todo[*]}")} ($([ "$parallel" = 0 ] && echo in parallel || echo one by one), about a minute): undo with docker image rm \$(docker image ls -q 'localhost/danelab-*')"
    img_start=$SECONDS
    # The build logs go to a private directory (not fixed names under /var/tmp, which another user could pre-create).
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/danelab-setup.XXXXXX")"
    declare -A pids=()
    failed=()
    for n in "${todo[@]}"; do
      if [ "$parallel" = 0 ]; then
        bash "$here/images/build.sh" "$n" >"$tmp/$n.out" 2>&1 &
        pids[$n]=$!
      else
        bash "$here/images/build.sh" "$n" >"$tmp/$n.out" 2>&1 || failed+=("$n")
      fi
    done
    for n in "${!pids[@]}"; do wait "${pids[$n]}" || failed+=("$n"); done
    for n in "${todo[@]}"; do
      if [[ " ${failed[*]} " == *" $n "* ]]; then
        echo "setup-host: building the $n image failed:" >&2
        cat "$tmp/$n.out" >&2
      else
        log "image $(tail -n 1 "$tmp/$n.out")"
      fi
    done
    [ "${#failed[@]}" -eq 0 ] || die "image build failed for: ${failed[*]}"
    log "images built in $((SECONDS - img_start))s"
  fi
  # Exim 4.96 rebuilt with OpenSSL from Debian's source (the seed bug's other half): the .debs are cached by input
  # hash under /var/cache/danelab, so only a new definition rebuilds them (about 7 minutes); never publish the image.
  openssl_tag="$(bash "$here/images/exim-openssl.sh" --tag)"
  if docker image inspect "$openssl_tag" >/dev/null 2>&1; then
    log "image $openssl_tag present"
  else
    change "building Docker image ${openssl_tag%:*} (Exim from Debian's source with OpenSSL; about 7 minutes the first time): undo with docker image rm ${openssl_tag%:*}"
    out="$(mktemp "${TMPDIR:-/tmp}/danelab-exim-openssl.XXXXXX")"
    bash "$here/images/exim-openssl.sh" >"$out" 2>&1 || {
      tail -n 40 "$out" >&2
      rm -f "$out"
      die "building $openssl_tag failed (the log's end is above)"
    }
    log "image $(tail -n 1 "$out")"
    rm -f "$out"
  fi
fi

log "done in $((SECONDS - started))s"
