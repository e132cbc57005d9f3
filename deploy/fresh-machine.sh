#!/usr/bin/env bash
# Run the README's commands on a fresh Debian 12 machine, built here: a clean Debian 12 root made
# by mmdebstrap (Debian's own tool, from Debian's archive) with only what a new user's machine is
# assumed to have (python3, make, git, ca-certificates), a fresh clone of this checkout's HEAD in
# it, and the command run inside it with chroot. Nothing the project installs (PostgreSQL,
# Mosquitto, Node.js, npm, python3-venv, fonts, ...) is there before the set-up installs it, so an
# install-order mistake fails here even when the host already has every package.
#
#   deploy/fresh-machine.sh                 # make test, then a `make run` smoke check
#   deploy/fresh-machine.sh make test       # any command, run in the clone inside the root
#   BW_FRESH_KEEP=1 deploy/fresh-machine.sh # keep the root for a look afterwards
#
# Needs root on a Debian (or Debian-like) host with apt; installs mmdebstrap on the host if it
# is missing. `.ci/run` calls it: CI proves the fresh-machine path on every submission.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '[fresh] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "needs root: it builds a Debian root with mmdebstrap and runs chroot (run it with sudo)"
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "needs a Debian host with apt-get (to install mmdebstrap and to build the root)"
  exit 1
fi
if ! command -v mmdebstrap >/dev/null 2>&1; then
  say "installing mmdebstrap from apt"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi

# The host's own apt sources name the archive (no host name is written here).
SOURCES=""
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  if [ -s "$f" ] && grep -qv '^\s*#' "$f"; then SOURCES="$f"; break; fi
done
if [ -z "$SOURCES" ]; then
  say "no apt sources found on the host (/etc/apt/sources.list.d/debian.sources or sources.list)"
  exit 1
fi

WORK="$(mktemp -d /var/tmp/bailwatch-fresh.XXXXXX)"
CHROOT="$WORK/root"
mounted=()

cleanup() {
  local pid
  # Whatever still runs inside the root (a server the command left behind) is ended first.
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    if [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$CHROOT" ]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -l "${mounted[$i]}" 2>/dev/null || true
  done
  if [ -n "${BW_FRESH_KEEP:-}" ]; then
    say "kept the root in $CHROOT"
  else
    rm -rf --one-file-system "$WORK"
  fi
}
trap cleanup EXIT

started=$(date +%s)
say "building a clean Debian 12 root in $CHROOT (mmdebstrap, minbase)"
mmdebstrap --mode=root --variant=minbase --include=python3,make,git,ca-certificates,procps \
  bookworm "$CHROOT" "$SOURCES" >"$WORK/mmdebstrap.log" 2>&1 \
  || { tail -20 "$WORK/mmdebstrap.log" >&2; say "mmdebstrap failed"; exit 1; }
say "root built in $(( $(date +%s) - started )) s"

for m in proc sys dev dev/pts; do
  mkdir -p "$CHROOT/$m"
done
mount -t proc proc "$CHROOT/proc" && mounted+=("$CHROOT/proc")
mount --rbind /sys "$CHROOT/sys" && mount --make-rslave "$CHROOT/sys" && mounted+=("$CHROOT/sys")
mount --rbind /dev "$CHROOT/dev" && mount --make-rslave "$CHROOT/dev" && mounted+=("$CHROOT/dev")
cp -L /etc/resolv.conf "$CHROOT/etc/resolv.conf" 2>/dev/null || true
# A new machine on this network trusts what the host trusts: the host's local CA certificates (an
# intercepting proxy's, say) go into the root's store, and the proxy/CA variables are passed on.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$CHROOT/usr/local/share/ca-certificates/"
  chroot "$CHROOT" update-ca-certificates >/dev/null 2>&1 || true
fi
NET_ENV=()
while IFS= read -r name; do
  NET_ENV+=("$name=${!name}")
done < <(compgen -e | grep -E '^(https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|PIP_CERT|PIP_DEFAULT_TIMEOUT|PIP_INDEX_URL|NODE_EXTRA_CA_CERTS|NPM_CONFIG_[A-Z_]+|npm_config_[a-z_]+|GIT_SSL_CAINFO)$' || true)
# As in any chroot, packages' maintainer scripts may not start system services (a real machine
# would start Debian's own PostgreSQL and Mosquitto on their default ports; ours use others).
printf '#!/bin/sh\nexit 101\n' > "$CHROOT/usr/sbin/policy-rc.d"
chmod +x "$CHROOT/usr/sbin/policy-rc.d"

# A fresh clone of what is committed (uncommitted changes are not part of a fresh clone).
git clone -q "$ROOT" "$CHROOT/srv/bailwatch"
git -C "$CHROOT/srv/bailwatch" checkout -q "$(git -C "$ROOT" rev-parse HEAD)"
missing=$(chroot "$CHROOT" sh -c 'for c in psql mosquitto node npm initdb; do command -v $c; done; \
  ls /usr/lib/postgresql 2>/dev/null; python3 -c "import ensurepip" 2>/dev/null && echo venv' || true)
if [ -n "$missing" ]; then
  say "the root is not fresh: found $missing"
  exit 1
fi
say "fresh: no postgresql, mosquitto, nodejs, npm or python3-venv in the root"

in_root() {
  chroot "$CHROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" "${NET_ENV[@]}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c 'cd /srv/bailwatch && "$@"' bash "$@"
}

if [ "$#" -gt 0 ]; then
  in_root "$@"
  exit $?
fi

started=$(date +%s)
say "make test"
in_root make test 2>&1 | tee "$WORK/make-test.log"
say "make test passed in $(( $(date +%s) - started )) s"
in_root make stop
started=$(date +%s)
say "make run (smoke: until the demo has stored fixes, then Ctrl-C)"
in_root bash deploy/run-smoke.sh
say "make run smoke passed in $(( $(date +%s) - started )) s"
# The test runner's closing line, last, for whoever reads the end of this output.
grep -E '^=+ .*[0-9]+ passed.* in [0-9.]+s' "$WORK/make-test.log" | tail -n 1
