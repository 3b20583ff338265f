#!/usr/bin/env bash
# The host state that `npm test` and `npm run bench` promise to leave as they found it (a mail admin's machine keeps
# its MTA, its resolver settings and its Docker configuration): every Debian package with its status and version, and
# the files of the services a user configures. `snapshot` writes it to FILE; `compare` takes it again and lists what
# differs, exiting 1 when anything does.
#
#   bash scripts/host-state.sh snapshot FILE [--root DIR]
#   bash scripts/host-state.sh compare FILE [--root DIR]
#
# Watched paths (a missing path is a state too): /etc/exim4 /etc/postfix /etc/unbound /etc/nsd
# /etc/docker/daemon.json /etc/resolv.conf /etc/hosts. A directory is every entry below it: path, type, mode, owner,
# sha256 of regular files, target of symbolic links. `--root DIR` reads DIR/etc/... and DIR/var/lib/dpkg instead of
# the real ones (for tests); the paths are reported without the prefix.
set -euo pipefail

WATCHED=(/etc/exim4 /etc/postfix /etc/unbound /etc/nsd /etc/docker/daemon.json /etc/resolv.conf /etc/hosts)

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
  echo "host-state: $*" >&2
  exit 2
}

cmd="${1:-}"
file="${2:-}"
root=/
shift $(($# < 2 ? $# : 2))
while [ $# -gt 0 ]; do
  case "$1" in
    --root)
      [ $# -ge 2 ] || die "--root needs a directory"
      root="$2"
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option '$1' (known: --root DIR)" ;;
  esac
done
case "$cmd" in
  snapshot | compare) ;;
  -h | --help)
    usage
    exit 0
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac
[ -n "$file" ] || die "$cmd needs a FILE"
[ -d "$root" ] || die "--root '$root' is not a directory"
root="${root%/}"

# One line per package: "package NAME STATUS... VERSION", sorted. Without a dpkg database (not Debian) the section is
# empty on both sides, so the comparison still covers the files.
packages() {
  local admindir="$root/var/lib/dpkg"
  command -v dpkg-query >/dev/null && [ -e "$admindir/status" ] || return 0
  dpkg-query --admindir="$admindir" -W -f '${Package} ${Status} ${Version}\n' | sed 's/^/package /' | LC_ALL=C sort
}

# One line per watched path and per entry below a watched directory: "path PATH KIND MODE OWNER DETAIL".
paths() {
  local p real entry rel kind
  for p in "${WATCHED[@]}"; do
    real="$root$p"
    if [ ! -e "$real" ] && [ ! -L "$real" ]; then
      echo "path $p absent"
      continue
    fi
    # find prints the entry itself first, then everything below a directory; -printf keeps names with spaces intact.
    while IFS= read -r -d '' entry; do
      rel="${entry#"$root"}"
      kind="$(stat -c '%F' "$entry")"
      case "$kind" in
        "symbolic link") echo "path $rel link $(stat -c '%a %U:%G' "$entry") -> $(readlink "$entry")" ;;
        directory) echo "path $rel dir $(stat -c '%a %U:%G' "$entry")" ;;
        "regular file" | "regular empty file")
          if [ -r "$entry" ]; then
            echo "path $rel file $(stat -c '%a %U:%G' "$entry") sha256:$(sha256sum <"$entry" | cut -d' ' -f1)"
          else
            echo "path $rel file $(stat -c '%a %U:%G' "$entry") unreadable size:$(stat -c '%s' "$entry")"
          fi
          ;;
        *) echo "path $rel ${kind// /-} $(stat -c '%a %U:%G' "$entry")" ;;
      esac
    done < <(find "$real" -print0 2>/dev/null | LC_ALL=C sort -z)
  done
}

take() {
  packages
  paths
}

# A short summary line per watched path (the sha256 of its lines) and the package count, for logs and reports.
summary() {
  local state="$1" p n
  n="$(grep -c '^package ' "$state" || true)"
  echo "host-state: $n packages"
  for p in "${WATCHED[@]}"; do
    lines="$(grep -E "^path ${p//./\\.}( |/)" "$state" || true)"
    if [ "$lines" = "path $p absent" ]; then
      echo "host-state: $p absent"
    else
      echo "host-state: $p sha256:$(printf '%s\n' "$lines" | sha256sum | cut -c1-16) ($(printf '%s\n' "$lines" | wc -l) entries)"
    fi
  done
}

if [ "$cmd" = snapshot ]; then
  mkdir -p "$(dirname "$file")"
  take >"$file.tmp"
  mv "$file.tmp" "$file"
  summary "$file" >&2
  exit 0
fi

[ -r "$file" ] || die "no snapshot at '$file' (take one first: bash $0 snapshot '$file')"
now="$(mktemp)"
trap 'rm -f "$now" "$now.diff"' EXIT
take >"$now"
if cmp -s "$file" "$now"; then
  echo "host-state: unchanged since the snapshot ($(grep -c '^package ' "$now" || true) packages, ${#WATCHED[@]} watched paths)" >&2
  exit 0
fi
# Key = kind + name (package NAME / path PATH); the rest of the line is the state.
awk '
  { key = $1 " " $2; rest = $0; sub(/^[^ ]+ [^ ]+ ?/, "", rest) }
  FNR == NR { before[key] = rest; order[++n] = key; next }
  { after[key] = rest; if (!(key in before)) order[++n] = key }
  END {
    for (i = 1; i <= n; i++) {
      k = order[i]
      if (!(k in after)) printf "  gone:    %s (was: %s)\n", k, before[k]
      else if (!(k in before)) printf "  new:     %s (%s)\n", k, after[k]
      else if (before[k] != after[k]) printf "  changed: %s: %s -> %s\n", k, before[k], after[k]
    }
  }
' "$file" "$now" >"$now.diff"
echo "host-state: the host changed since the snapshot in $file:" >&2
cat "$now.diff" >&2
exit 1
