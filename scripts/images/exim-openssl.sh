#!/usr/bin/env bash
# Builds the image localhost/danelab-exim-openssl-bookworm: Debian 12's Exim 4.96 rebuilt from Debian's own source
# package with OpenSSL instead of GnuTLS (the other half of the seed bug report: "an OpenSSL-built Exim delivered").
#
#   exim-openssl.sh            build if missing (prints "<tag> built in Ns" or "<tag> present")
#   exim-openssl.sh --tag      print the tag the current definition produces, build nothing
#
# Steps, each cached by a hash of its inputs (this script, the pinned version, the suite):
#   1. the .debs: in a --network host build container from the exim@bookworm image, `apt-get source` (a deb-src list
#      passed with -o Dir::Etc::SourceList, the container's own lists untouched), the build-deps plus libssl-dev
#      (which they lack), `OPENSSL:=1` uncommented in debian/rules, `dpkg-buildpackage -b -uc -us` (≈4 min on 2
#      cores). The .debs are kept in $DANELAB_DEB_CACHE (default /var/cache/danelab/exim-openssl, root only), so CI
#      runs never rebuild them.
#   2. the image: the exim@bookworm image with those .debs installed over Debian's, committed.
# Debian's note in debian/rules: an OpenSSL-linked Exim raises a GPL licensing question. These images and .debs are
# for this machine only: never push or publish them.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
mode=build
[ "${1:-}" = "--tag" ] && mode=tag
suite=bookworm
# The pinned source version: the one Debian 12's binary image carries (a newer security upload's source may be absent).
version="4.96-15+deb12u10"
hash="$( (cat "$0"; echo "$version $suite") | sha256sum | cut -c1-12)"
repo="localhost/danelab-exim-openssl-$suite"
tag="$repo:$hash"
if [ "$mode" = tag ]; then
  echo "$tag"
  exit 0
fi
if docker image inspect "$tag" >/dev/null 2>&1; then
  docker tag "$tag" "$repo:latest"
  echo "$tag present"
  exit 0
fi

start=$SECONDS
base="$(bash "$here/build.sh" "exim@$suite" | awk '{ print $1 }')"
cache="${DANELAB_DEB_CACHE:-/var/cache/danelab/exim-openssl}"
debs="$cache/$hash"
mkdir -p "$cache"
chmod 0700 "$cache"
mirror="$(awk '$1 == "deb" { print $2; exit }' <(docker run --rm "$base" cat /etc/apt/sources.list))"

if ! ls "$debs"/exim4-daemon-light_*.deb >/dev/null 2>&1; then
  echo "exim-openssl: building Exim $version with OpenSSL from Debian's source (about 4-5 minutes, once per recipe)" >&2
  rm -rf "$debs.tmp"
  mkdir -p "$debs.tmp"
  if ! docker run --rm --network host -v "$debs.tmp:/out" "$base" bash -ec '
      version="$1" mirror="$2" suite="$3"
      printf "deb %s %s main\ndeb-src %s %s main\n" "$mirror" "$suite" "$mirror" "$suite" >/tmp/src.list
      opts=(-o Dir::Etc::SourceList=/tmp/src.list -o Dir::Etc::SourceParts=/dev/null)
      apt-get update "${opts[@]}" >/dev/null
      export DEBIAN_FRONTEND=noninteractive
      apt-get install -y --no-install-recommends "${opts[@]}" dpkg-dev build-essential fakeroot libssl-dev >/dev/null
      mkdir /build && cd /build
      apt-get "${opts[@]}" source --download-only "exim4=$version" >/dev/null
      dpkg-source -x exim4_*.dsc src >/dev/null
      cd src
      apt-get build-dep -y --no-install-recommends "${opts[@]}" ./ >/dev/null
      sed -i "s/^#[[:space:]]*OPENSSL:=1/OPENSSL:=1/" debian/rules
      grep -q "^OPENSSL:=1" debian/rules || { echo "debian/rules has no OPENSSL:=1 line to uncomment" >&2; exit 1; }
      DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -b -uc -us >/out/build.log 2>&1 ||
        { tail -n 40 /out/build.log >&2; exit 1; }
      cp ../exim4-base_*.deb ../exim4-daemon-light_*.deb /out/' \
    sh "$version" "$mirror" "$suite" >"$cache/build-$hash.log" 2>&1; then
    echo "exim-openssl: the build failed; last lines of its log ($cache/build-$hash.log):" >&2
    tail -n 30 "$cache/build-$hash.log" >&2
    exit 1
  fi
  rm -rf "$debs"
  mv "$debs.tmp" "$debs"
  chmod -R go-rwx "$debs"
  echo "exim-openssl: .debs built in $((SECONDS - start))s, kept in $debs" >&2
fi

cid="danelab-build-exim-openssl-$$"
if ! docker run --name "$cid" --network host -v "$debs:/debs:ro" "$base" sh -c \
  'dpkg -i /debs/exim4-base_*.deb /debs/exim4-daemon-light_*.deb && exim -bV | grep -qi openssl' \
  >"$cache/install-$hash.log" 2>&1; then
  echo "exim-openssl: installing the built .debs failed; last lines of its log:" >&2
  tail -n 25 "$cache/install-$hash.log" >&2
  docker rm -f "$cid" >/dev/null 2>&1 || true
  exit 1
fi
docker commit --change "LABEL org.danelab.image=exim-openssl org.danelab.suite=$suite org.danelab.publish=never" \
  "$cid" "$tag" >/dev/null
docker rm -f "$cid" >/dev/null
docker tag "$tag" "$repo:latest"
echo "$tag built in $((SECONDS - start))s"
