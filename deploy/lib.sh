# Shared by the deploy scripts (sourced, not run): messages, root, and installing Debian packages
# with a plain message where that cannot work. Every path a script uses from a package is looked
# up after `need_packages` has installed it, never when the script starts.

# say TEXT: a line on stderr, prefixed with the calling script's tag ($TAG, default "bailwatch").
say() { printf '[%s] %s\n' "${TAG:-bailwatch}" "$*" >&2; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# as_root CMD...: run CMD as root (directly, or with sudo), or explain why it cannot.
as_root() {
  if is_root; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else
    say "this step needs root, and you are not root and have no sudo: $*"
    say "run it as root, or install sudo, or do that step yourself and run the command again"
    return 1
  fi
}

# need_packages PKG...: install the Debian packages that are not installed yet (one apt run).
need_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing: ${missing[*]} (Debian package names), and this machine has no apt-get."
    say "install them with your system's package manager, then run the command again."
    return 1
  fi
  say "installing ${missing[*]} from apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    || { say "apt-get update failed; is the network to the Debian archive reachable?"; return 1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null \
    || { say "apt-get install ${missing[*]} failed (see the lines above)"; return 1; }
}

# pg_bindir: the newest installed PostgreSQL server's bin directory (Debian's layout), looked up
# when called (after the install step), or nothing.
pg_bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_basebackup" ] && printf '%s\n' "$dir"
}

# run_as USER CMD...: run as USER when root (services refuse to run as root), else as ourselves.
run_as() {
  local user="$1"; shift
  # From /, which every service user can enter (the checkout may be in a private directory).
  if is_root; then (cd / && runuser -u "$user" -- "$@"); else "$@"; fi
}
