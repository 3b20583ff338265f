#!/usr/bin/env bash
# Builds one client image (Exim, Postfix or the probe) from Debian packages, without any registry: debootstrap a
# minimal Debian into a directory, strip apt caches and docs, and `docker import` it as localhost/danelab-<name>:<hash>
# plus :latest. <hash> covers this script, <name>.packages and the Debian suite, so changing the package list or the
# recipe gives a new tag and a rebuild, and an unchanged one is found in the engine and skipped.
#
#   build.sh <name>            build if missing (prints "<tag> built in Ns" or "<tag> present")
#   build.sh <name>@<suite>    the same for one Debian release: localhost/danelab-<name>-<suite> (e.g. exim@trixie)
#   build.sh --tag <name>      print the tag the current definition produces, build nothing
#
# Releases after bookworm (trixie) cannot take the packages through debootstrap --include (systemd's dpkg step fails
# in the chroot): there a bare minbase is imported, the packages are installed with apt-get inside a --network host
# container from it, and that container is committed.
#
# Environment: DANELAB_DEBIAN_MIRROR (default: the mirror in /etc/apt/sources.list.d/debian.sources),
# DANELAB_DEBIAN_SUITE (default: this host's Debian codename, else bookworm), DANELAB_IMAGE_WORKDIR (default /var/tmp).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
mode=build
if [ "${1:-}" = "--tag" ]; then
  mode=tag
  shift
fi
spec="${1:?usage: build.sh [--tag] <exim|postfix|probe>[@<suite>]}"
name="${spec%@*}"
[ "$spec" != "$name" ] && DANELAB_DEBIAN_SUITE="${spec#*@}"
list="$here/$name.packages"
[ -f "$list" ] || {
  echo "build-image: no package list $list (known images: $(cd "$here" && ls ./*.packages | sed 's#^\./##; s#\.packages$##' | tr '\n' ' '))" >&2
  exit 2
}

debian_suite() {
  if [ -n "${DANELAB_DEBIAN_SUITE:-}" ]; then
    echo "$DANELAB_DEBIAN_SUITE"
    return
  fi
  # shellcheck disable=SC1091
  local id codename
  id="$(. /etc/os-release 2>/dev/null && echo "${ID:-}")"
  codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
  if [ "$id" = debian ] && [ -n "$codename" ]; then echo "$codename"; else echo bookworm; fi
}

# The Debian mirror apt already uses (deb822 debian.sources first, then the one-line sources.list format).
debian_mirror() {
  local suite="$1"
  if [ -n "${DANELAB_DEBIAN_MIRROR:-}" ]; then
    echo "$DANELAB_DEBIAN_MIRROR"
    return
  fi
  local f=/etc/apt/sources.list.d/debian.sources uri=""
  if [ -f "$f" ]; then
    uri="$(awk -v suite="$suite" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; ok = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uris = u[1] }
          if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
        }
        if (ok && uris != "") { print uris; exit }
      }' "$f")"
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri="$(awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2; exit }' /etc/apt/sources.list)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

suite="$(debian_suite)"
packages="$(sed 's/#.*//' "$list" | tr -s ' \t' '\n' | grep -v '^$' | sort -u | paste -sd, -)"
hash="$( (cat "$0" "$list"; echo "$suite") | sha256sum | cut -c1-12)"
repo="localhost/danelab-$name"
[ "$spec" != "$name" ] && repo="localhost/danelab-$name-$suite"
tag="$repo:$hash"

if [ "$mode" = tag ]; then
  echo "$tag"
  exit 0
fi

# The same definition built under the other name (exim and exim@bookworm on a bookworm host): tag, do not rebuild.
for other in "localhost/danelab-$name:$hash" "localhost/danelab-$name-$suite:$hash"; do
  if [ "$other" != "$tag" ] && docker image inspect "$other" >/dev/null 2>&1; then docker tag "$other" "$tag"; fi
done
if docker image inspect "$tag" >/dev/null 2>&1; then
  # Present: make sure :latest points at it (a build of another definition may have moved it).
  docker tag "$tag" "$repo:latest"
  echo "$tag present"
  exit 0
fi

mirror="$(debian_mirror "$suite")"
start=$SECONDS
workdir="$(mktemp -d "${DANELAB_IMAGE_WORKDIR:-/var/tmp}/danelab-image-$name.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT
# exim4-config's postinst fails in a root directory that is not 0755 (mktemp makes 0700).
chmod 0755 "$workdir"
root="$workdir/root"
mkdir -m 0755 "$root"

# bookworm and older: the packages go in with debootstrap; later releases: in a container (see the top).
in_container=0
case "$suite" in buster | bullseye | bookworm) ;; *) in_container=1 ;; esac
include=(--include="$packages")
[ "$in_container" = 1 ] && include=()

if ! debootstrap --variant=minbase "${include[@]}" "$suite" "$root" "$mirror" >"$workdir/debootstrap.log" 2>&1; then
  echo "build-image: debootstrap of $name ($suite from $mirror, packages $packages) failed; last lines of its log:" >&2
  tail -n 25 "$workdir/debootstrap.log" >&2
  [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 25 "$root/debootstrap/debootstrap.log" >&2
  echo "build-image: check that the mirror is reachable (apt-get update works) or set DANELAB_DEBIAN_MIRROR." >&2
  exit 1
fi

# Shrink: downloaded .debs, package lists, docs and man pages are not needed at run time.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log \
  "$root"/debootstrap

changes=(
  --change 'CMD ["/bin/bash"]'
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  --change "LABEL org.danelab.image=$name org.danelab.suite=$suite org.danelab.packages=$packages"
)
if [ "$in_container" = 0 ]; then
  tar -C "$root" --numeric-owner -c . | docker import "${changes[@]}" - "$tag" >/dev/null
else
  base="$repo:base-$hash"
  tar -C "$root" --numeric-owner -c . | docker import - "$base" >/dev/null
  cid="danelab-build-$name-$suite-$$"
  # policy-rc.d: no daemon starts during the install (there is no init in the container).
  if ! docker run --name "$cid" --network host "$base" sh -c '
      printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d &&
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(echo "$1" | tr , " ") &&
      rm -f /usr/sbin/policy-rc.d && apt-get clean &&
      rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /usr/share/info/* /var/log/*.log' \
      sh "$packages" >"$workdir/install.log" 2>&1; then
    echo "build-image: installing $packages into $suite ($base) failed; last lines of its log:" >&2
    tail -n 25 "$workdir/install.log" >&2
    docker rm -f "$cid" >/dev/null 2>&1 || true
    docker rmi "$base" >/dev/null 2>&1 || true
    exit 1
  fi
  docker commit "${changes[@]}" "$cid" "$tag" >/dev/null
  docker rm -f "$cid" >/dev/null
  docker rmi "$base" >/dev/null
fi
docker tag "$tag" "$repo:latest"
echo "$tag built in $((SECONDS - start))s"
