#!/usr/bin/env bash
# Builds the lab itself as a container image, localhost/danelab:<hash> plus :latest, without any registry, in two
# cached steps:
#   1. the base: Debian 13 (trixie) minbase with Debian's nodejs (20.19), by build.sh from lab-base.packages
#      (localhost/danelab-lab-base; about a minute and a half from nothing, then found in the engine);
#   2. the app: the built lab (dist/, bin/, the scenario YAML) with production dependencies only
#      (`npm ci --omit=dev`), copied into a container of the base and exported as one flat layer.
# <hash> covers this script, the base's tag, package.json, package-lock.json and every file copied into the image, so
# an unchanged lab is found in the engine and skipped (seconds), and any change gives a new tag.
#
#   build-lab.sh             build if missing (prints "<tag> built in Ns" or "<tag> present")
#   build-lab.sh --tag       print the tag the current checkout produces, build nothing
#
# Run `npm run build` first (`npm run image` does both). Needs root (or a user in the docker group) and debootstrap.
# Environment: as build.sh (DANELAB_DEBIAN_MIRROR, DANELAB_IMAGE_WORKDIR); DANELAB_LAB_SUITE (default trixie).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mode=build
case "${1:-}" in
  --tag) mode=tag ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
esac
suite="${DANELAB_LAB_SUITE:-trixie}"

die() {
  echo "build-lab: $*" >&2
  exit 1
}

[ -f "$repo/dist/cli/main.js" ] || die "no built lab in $repo/dist (dist/cli/main.js is missing). Run \`npm run build\` first, or \`npm run image\`, which builds and then calls this script."

# What goes into /opt/danelab: compiled code (no tests, no build cache), the command, the catalogue's YAML.
app_files() {
  (
    cd "$repo"
    find dist bin lab/scenarios -type f ! -name '*.test.js' ! -name '*.tsbuildinfo' ! -name '*.map' | LC_ALL=C sort
    echo package.json
    echo package-lock.json
  )
}

base_tag="$(DANELAB_DEBIAN_SUITE="$suite" bash "$here/build.sh" --tag lab-base)"
hash="$(
  cd "$repo"
  {
    cat "$0"
    echo "$base_tag"
    app_files | while IFS= read -r f; do
      echo "$f"
      sha256sum <"$f"
    done
  } | sha256sum | cut -c1-12
)"
tag="localhost/danelab:$hash"

if [ "$mode" = tag ]; then
  echo "$tag"
  exit 0
fi

if docker image inspect "$tag" >/dev/null 2>&1; then
  docker tag "$tag" localhost/danelab:latest
  echo "$tag present"
  exit 0
fi

start=$SECONDS
echo "build-lab: base image $base_tag (Debian $suite + nodejs)" >&2
DANELAB_DEBIAN_SUITE="$suite" bash "$here/build.sh" lab-base >&2

workdir="$(mktemp -d "${DANELAB_IMAGE_WORKDIR:-/var/tmp}/danelab-image-lab.XXXXXX")"
container=""
cleanup() {
  [ -n "$container" ] && docker rm -f "$container" >/dev/null 2>&1
  rm -rf "$workdir"
}
trap cleanup EXIT

echo "build-lab: staging the lab with production dependencies (npm ci --omit=dev)" >&2
app="$workdir/danelab"
mkdir -p "$app"
app_files | (cd "$repo" && tar -c -T -) | tar -x -C "$app"
if ! (cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline >"$workdir/npm.log" 2>&1); then
  tail -n 20 "$workdir/npm.log" >&2
  die "npm ci --omit=dev failed (above); the npm registry or its cache must be reachable."
fi
rm -rf "$app/node_modules/.package-lock.json"

# The base plus the app, as one flat layer: translations (/usr/share/locale) are dropped, the rest is the base.
container="$(docker create --network none "$base_tag" sh -c 'rm -rf /usr/share/locale/*')"
docker start -a "$container" >/dev/null
docker cp "$app" "$container:/opt/danelab" >/dev/null
docker export "$container" |
  docker import \
    --change 'ENTRYPOINT ["node", "/opt/danelab/bin/danelab.js"]' \
    --change 'CMD ["up", "--state-dir", "/state"]' \
    --change 'WORKDIR /state' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_ENV=production' \
    --change "LABEL org.danelab.image=lab org.danelab.suite=$suite org.danelab.base=$base_tag" \
    - "$tag" >/dev/null
docker tag "$tag" localhost/danelab:latest
# Each build is one flat ~200 MB image: drop the earlier builds of this repository (an image a container still uses
# stays; docker refuses to remove it).
docker image ls localhost/danelab --format '{{.Repository}}:{{.Tag}}' | grep -Ev ":(latest|$hash)\$" |
  xargs -r docker rmi >/dev/null 2>&1 || true
echo "$tag built in $((SECONDS - start))s ($(docker image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%d MB", $1 / 1000000 }'))"
