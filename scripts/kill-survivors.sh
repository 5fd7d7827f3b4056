#!/usr/bin/env bash
# Counts what survives `kill -9` of pitlane (issue 13: zero surviving descendants after 5 s, in 20 of 20 tries).
#
#   scripts/kill-survivors.sh [run|bench|both] [tries=20]
#
# run:   `pitlane run` on a manifest whose CPython node starts a long-lived subprocess; killed once it exists.
# bench: `pitlane bench examples/suites/echo.yaml` (node server + uvicorn; needs python3-fastapi and
#        python3-uvicorn), killed 2-6 s after the contestants are up, so kills land at different phases.
# Before each kill, every descendant of pitlane (pid + start time, from /proc) is remembered; 5 s after it, any
# of them still running (zombies excluded), and any process with the run's marker in its argv, is a survivor.
# Survivors are listed, then killed, so that tries do not add up. PITLANE=/path/to/bin/pitlane.js compares
# another checkout (e.g. the main one, before the fix). Linux only.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PITLANE=${PITLANE:-$ROOT/bin/pitlane.js}
WHAT=${1:-both}
TRIES=${2:-20}
WORK=$(mktemp -d /tmp/pl-kill-survivors.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# "pid starttime" of a process, or nothing if it is gone or a zombie.
identity() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  s=${s##*) }
  set -- $s
  case $1 in Z | X) return 0 ;; esac
  echo "${19}"
}

# Every descendant of $1 as "pid starttime" lines.
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      n = 1; queue[1] = root
      for (i = 1; i <= n; i++)
        for (p in parent) if (parent[p] == queue[i]) { queue[++n] = p; print p }
    }' | while read -r pid; do
    start=$(identity "$pid")
    [ -n "$start" ] && echo "$pid $start"
  done
}

# Survivors among the remembered processes (file $1) and the processes whose argv contains $2.
survivors() {
  {
    while read -r pid start; do
      [ "$(identity "$pid")" = "$start" ] && echo "$pid"
    done <"$1"
    [ -n "$2" ] && for d in /proc/[0-9]*; do
      tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF -- "$2" && [ -n "$(identity "${d#/proc/}")" ] && echo "${d#/proc/}"
    done
  } | sort -un
}

wait_for() { # seconds, command...
  local limit=$(($1 * 10))
  shift
  for ((i = 0; i < limit; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

has_marker() { grep -qlF -- "$1" /proc/[0-9]*/cmdline 2>/dev/null; }

# Prints the number of survivors of one try, or "skip" if pitlane never reached the point where it is killed.

one_try() { # kind try
  local kind=$1 try=$2
  local marker="pl-kill-survivors-$$-$kind-$try" pid ready=yes
  case $kind in
  run)
    sed "s/MARKER/$marker/" "$ROOT/test/fixtures/spawner.yaml" >"$WORK/spawner.yaml"
    node "$PITLANE" run "$WORK/spawner.yaml" >/dev/null 2>"$WORK/stderr" &
    pid=$!
    wait_for 60 has_marker "$marker" || ready=no
    ;;
  bench)
    marker=
    node "$PITLANE" bench examples/suites/echo.yaml --out "$WORK/out" >/dev/null 2>"$WORK/stderr" &
    pid=$!
    # A contestant up (two children: it and the watchdog; the old build: two contestants), then 2-6 s more.
    wait_for 60 sh -c "[ \$(ps -o pid= --ppid $pid | wc -l) -ge 2 ]" || ready=no
    sleep $((2 + try % 5))
    ;;
  esac
  descendants "$pid" >"$WORK/remembered"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [ $ready = no ]; then
    echo "  try $try: pitlane never got there; its stderr ends with: $(tail -c 300 "$WORK/stderr")" >&2
  fi
  sleep 5
  local left
  left=$(survivors "$WORK/remembered" "$marker")
  for p in $left; do
    echo "  try $try survivor: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" >&2
    kill -9 "$p" 2>/dev/null
  done
  if [ $ready = no ]; then echo skip; else echo "$left" | grep -c . || true; fi
}

for kind in run bench; do
  [ "$WHAT" = both ] || [ "$WHAT" = "$kind" ] || continue
  total=0
  clean=0
  counted=0
  for ((t = 1; t <= TRIES; t++)); do
    n=$(one_try "$kind" "$t")
    if [ "$n" = skip ]; then
      echo "pitlane $kind try $t: not counted" >&2
      continue
    fi
    counted=$((counted + 1))
    total=$((total + n))
    [ "$n" -eq 0 ] && clean=$((clean + 1))
    echo "pitlane $kind try $t: $n survivor(s) after 5 s" >&2
  done
  echo "pitlane $kind: $clean of $counted tries with zero survivors after 5 s ($total survivors in all; $((TRIES - counted)) of $TRIES tries not counted)"
done
