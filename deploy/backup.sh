#!/usr/bin/env bash
# Base backups and point-in-time restore of the project-local PostgreSQL (deploy/services.sh).
#
#   deploy/backup.sh backup                       # `make backup`: a base backup, base/<UTC time>/
#   deploy/backup.sh list                         # the base backups and the WAL archive
#   deploy/backup.sh prune --keep 2               # older base backups and the WAL only they need
#   deploy/backup.sh restore --latest             # every archived commit
#   deploy/backup.sh restore --to '2026-12-04 18:00:00+00'   # the state at that moment
#
# services.sh archives every WAL segment into $BW_RUN_DIR/backup/wal (archive_command); a base
# backup (pg_basebackup, with the WAL it needs) plus that archive restores the cluster to any
# moment after the backup. A restore stops the server, moves the data directory aside (kept as
# data.before-restore-<time>), copies the newest base backup completed before the target, sets
# restore_command and the target with recovery.signal, starts, waits for recovery to end, and
# leaves the server promoted on a new timeline, archiving again.
# Not covered: copies off this machine, encryption (see README "Backup and restore").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${BW_RUN_DIR:-.run}"
case "$RUN_DIR" in /*) ;; *) RUN_DIR="$ROOT/$RUN_DIR" ;; esac
PG_PORT="${BW_DB__PORT:-55432}"
PG_USER="${BW_DB__USER:-bailwatch}"
export PGPASSWORD="${BW_DB__PASSWORD:-bailwatch}"
RECOVERY_TIMEOUT_S="${BW_BACKUP__RECOVERY_TIMEOUT_S:-3600}"

TAG=backup
# shellcheck source=deploy/lib.sh
. "$ROOT/deploy/lib.sh"

die() { say "$*"; exit 1; }

# Times are compared as microseconds since the epoch; shown_us US prints one in UTC.
shown_us() { date -u -d "@$(( $1 / 1000000 )).$(printf '%06d' $(( $1 % 1000000 )))" '+%F %T.%6N UTC'; }

run_as_pg() { run_as postgres "$@"; }

BIN="$(pg_bindir || true)"
[ -n "$BIN" ] || die "no PostgreSQL binaries; run \`make services\` first (it installs them)"
[ -e "$RUN_DIR/pg" ] || die "no local PostgreSQL under $RUN_DIR; run \`make services\` first"
PG_DIR="$(readlink -f "$RUN_DIR/pg")"
DATA="$PG_DIR/data"
LOG="$PG_DIR/postgresql.log"
[ -e "$RUN_DIR/backup" ] \
  || die "no WAL archive under $RUN_DIR/backup: this cluster runs without archiving (BW_PG_ARCHIVE=off, or a test cluster); restart it with \`make stop && BW_PG_ARCHIVE=on make services\`"
BACKUP_DIR="$(readlink -f "$RUN_DIR/backup")"
WAL="$BACKUP_DIR/wal"
BASE="$BACKUP_DIR/base"

psql_q() { "$BIN/psql" -X -q -At -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -c "$1"; }
server_up() { run_as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

# The completed base backups, oldest first (a backup is complete once its `completed` file exists).
completed_backups() {
  local d
  for d in "$BASE"/*/; do
    [ -f "$d/completed" ] && printf '%s\n' "${d%/}"
  done
  return 0
}

backup() {
  server_up || die "PostgreSQL is not running; start it with \`make services\`"
  [ "$(psql_q 'SHOW archive_mode')" = on ] \
    || die "WAL archiving is off on the running server; restart it with \`make stop && BW_PG_ARCHIVE=on make services\`"
  local stamp dest
  stamp="$(date -u +%Y%m%dT%H%M%SZ)"
  dest="$BASE/$stamp"
  [ ! -e "$dest" ] || die "$dest already exists; wait a second and run it again"
  run_as_pg mkdir -p "$BASE"
  say "base backup into $dest"
  if ! run_as_pg "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" \
       -U "$PG_USER" -D "$dest" -X stream -c fast --no-password >/dev/null; then
    run_as_pg rm -rf "$dest"
    die "pg_basebackup failed (see the lines above); no backup was kept"
  fi
  # Archive the segment holding the backup's end now, so a restore does not wait for it.
  psql_q 'SELECT pg_switch_wal()' >/dev/null
  date -u +%s%6N | run_as_pg tee "$dest/completed" >/dev/null
  say "base backup done: $dest ($(du -sh "$dest" | cut -f1))"
}

list() {
  local d n
  say "base backups in $BASE:"
  while read -r d; do
    [ -n "$d" ] && say "  $(basename "$d")  completed $(shown_us "$(cat "$d/completed")")"
  done < <(completed_backups)
  n="$(find "$WAL" -maxdepth 1 -type f ! -name '*.part' 2>/dev/null | wc -l)"
  say "WAL archive $WAL: $n files"
}

# prune --keep N: delete all but the newest N complete base backups, then the archived WAL older
# than the oldest one kept (pg_archivecleanup, PostgreSQL's own tool for it).
prune() {
  local keep=""
  [ "${1:-}" = --keep ] && [ -n "${2:-}" ] && keep="$2"
  case "$keep" in ''|*[!0-9]*|0) die "usage: $0 prune --keep N (N >= 1 base backups to keep)" ;; esac
  local all=() d first
  mapfile -t all < <(completed_backups)
  [ "${#all[@]}" -gt 0 ] || die "no base backup yet in $BASE; nothing to prune against"
  for d in "${all[@]:0:$(( ${#all[@]} > keep ? ${#all[@]} - keep : 0 ))}"; do
    run_as_pg rm -rf "$d"
    say "deleted base backup $(basename "$d")"
  done
  d="${all[$(( ${#all[@]} > keep ? ${#all[@]} - keep : 0 ))]}"
  first="$(sed -n 's/^START WAL LOCATION: .*(file \([0-9A-F]\{24\}\)).*/\1/p' "$d/backup_label")"
  [ -n "$first" ] || die "cannot read the first WAL file of $d from its backup_label; archive left alone"
  run_as_pg "$BIN/pg_archivecleanup" "$WAL" "$first"
  say "archived WAL before $first deleted; kept $(basename "$d") and newer"
}

# undo_restore ASIDE WAS_UP: after a failed recovery, the data directory goes back as it was
# (the failed copy is deleted), and the server is started again if it was running before.
undo_restore() {
  local aside="$1" was_up="$2"
  if server_up; then run_as_pg "$BIN/pg_ctl" -D "$DATA" -m immediate -w -t 60 stop >/dev/null || true; fi
  rm -rf "$DATA"
  if [ -n "$aside" ]; then
    mv -T "$aside" "$DATA"
    say "the data directory is back as it was before the restore"
    if $was_up && run_as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null; then
      say "PostgreSQL is running again on the old data"
    fi
  fi
}

# recovery_failed ASIDE WAS_UP TARGET: the server's last words, the data directory put back, and
# why in plain words; exits.
recovery_failed() {
  local lines
  lines="$(tail -n 8 "$LOG" 2>/dev/null || true)"
  printf '%s\n' "$lines" >&2
  undo_restore "$1" "$2"
  if grep -q 'recovery ended before configured recovery target was reached' <<<"$lines"; then
    die "the WAL archive ends before $3 (no archived commit after that moment), so it cannot be restored: use --latest for everything archived, or an earlier time; nothing was restored"
  fi
  die "recovery failed (see the log lines above, $LOG); nothing was restored"
}

# restore --latest | --to TIME
restore() {
  local target="" latest=false
  while [ $# -gt 0 ]; do
    case "$1" in
      --latest) latest=true ;;
      --to) [ $# -ge 2 ] || die "--to needs a time, e.g. --to '2026-12-04 18:00:00+00'"; target="$2"; shift ;;
      *) die "unknown argument $1; usage: $0 restore --latest | --to 'YYYY-MM-DD HH:MM:SS+00'" ;;
    esac
    shift
  done
  if $latest && [ -n "$target" ]; then die "give either --latest or --to, not both"; fi
  if ! $latest && [ -z "$target" ]; then
    die "say what to restore to: --latest (every archived commit) or --to 'YYYY-MM-DD HH:MM:SS+00'"
  fi

  local target_us="" chosen="" d
  if [ -n "$target" ]; then
    target_us="$(date -u -d "$target" +%s%6N 2>/dev/null)" \
      || die "cannot read the time '$target'; write it like '2026-12-04 18:00:00+00' (UTC offset included)"
    case "$target" in *[+-][0-9][0-9]|*[+-][0-9][0-9]:[0-9][0-9]|*Z|*UTC) ;;
      *) die "the time '$target' has no UTC offset; add one, e.g. '$target+00'" ;; esac
    case "$target" in *"'"*|*\\*) die "the time '$target' has a quote or backslash; write it like '2026-12-04 18:00:00+00'" ;; esac
    [ "$target_us" -le "$(date -u +%s%6N)" ] || die "the time '$target' is in the future"
  fi
  [ -n "$(completed_backups)" ] || die "no base backup yet in $BASE: take one with \`make backup\`"
  while read -r d; do
    if [ -z "$target_us" ] || [ "$(cat "$d/completed")" -lt "$target_us" ]; then chosen="$d"; fi
  done < <(completed_backups)
  if [ -z "$chosen" ]; then
    d="$(completed_backups | head -n 1)"
    die "the time '$target' is before the oldest base backup (completed $(shown_us "$(cat "$d/completed")")); it cannot be restored"
  fi
  [ -n "$(find "$WAL" -maxdepth 1 -type f ! -name '*.part' 2>/dev/null | head -n 1)" ] \
    || die "the WAL archive $WAL is empty: archiving has not worked (see $LOG), so nothing after a base backup can be restored"

  say "restoring $(basename "$chosen") to ${target:-the latest archived commit}"
  local was_up=false
  if server_up; then
    was_up=true
    say "stopping PostgreSQL"
    run_as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null \
      || die "PostgreSQL did not stop; stop it, then run the restore again"
  fi
  local aside=""
  if [ -e "$DATA" ]; then
    aside="$PG_DIR/data.before-restore-$(date -u +%Y%m%dT%H%M%S.%3NZ)"
    mv -T "$DATA" "$aside"
    say "the old data directory is kept in $aside (delete it once the restore is checked)"
  fi
  cp -a "$chosen" "$DATA"
  rm -f "$DATA/completed"
  if is_root; then chown -R postgres: "$DATA"; fi
  chmod 700 "$DATA"
  # WAL the old server wrote but had not archived yet (when its pg_wal survived).
  if [ -n "$aside" ] && [ -d "$aside/pg_wal" ]; then
    find "$aside/pg_wal" -maxdepth 1 -type f -name '[0-9A-F]*' -exec cp -p {} "$DATA/pg_wal/" \;
    if is_root; then chown -R postgres: "$DATA/pg_wal"; fi
  fi
  {
    echo "# Written by deploy/backup.sh for one restore; removed when it has finished."
    echo "restore_command = 'cp \"$WAL/%f\" \"%p\"'"
    if [ -n "$target" ]; then
      echo "recovery_target_time = '$target'"
      echo "recovery_target_action = 'promote'"
    fi
  } | run_as_pg tee "$DATA/bailwatch-recovery.conf" >/dev/null
  grep -q "^include_if_exists = 'bailwatch-recovery.conf'" "$DATA/postgresql.conf" \
    || printf "include_if_exists = 'bailwatch-recovery.conf'\n" >> "$DATA/postgresql.conf"
  run_as_pg touch "$DATA/recovery.signal"

  say "starting PostgreSQL in recovery (log $LOG)"
  if ! run_as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t "$RECOVERY_TIMEOUT_S" start >/dev/null; then
    recovery_failed "$aside" "$was_up" "$target"
  fi
  local i state=""
  for i in $(seq 1 "$((RECOVERY_TIMEOUT_S * 2))"); do
    state="$(psql_q 'SELECT pg_is_in_recovery()' 2>/dev/null || true)"
    [ "$state" = f ] && break
    if ! server_up; then
      recovery_failed "$aside" "$was_up" "$target"
    fi
    sleep 0.5
  done
  [ "$state" = f ] || die "recovery did not finish within ${RECOVERY_TIMEOUT_S}s (see $LOG); it is still running"
  rm -f "$DATA/bailwatch-recovery.conf"
  say "restored and promoted: PostgreSQL is up on 127.0.0.1:$PG_PORT, on timeline $(psql_q 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)::int')"
}

case "${1:-}" in
  backup) backup ;;
  list) list ;;
  prune) shift; prune "$@" ;;
  restore) shift; restore "$@" ;;
  *) say "usage: $0 backup | list | prune --keep N | restore --latest | restore --to 'YYYY-MM-DD HH:MM:SS+00'"; exit 2 ;;
esac
