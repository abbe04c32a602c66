# Shared set-up, runners and checks of the script tests (sourced, POSIX sh). A test script:
#   cd "$(dirname "$0")/.." || exit 1
#   . tests/lib.sh
#   test_setup NAME [h5py] [fresh] [no_engd]
#   ... checks ...
#   test_finish
#
# test_setup NAME [words]:
#   PYTHON  a Python (scripts/find-python.sh unless set)
#   T       the test's scratch directory ($ENGD_TEST_TMP/NAME, emptied first with "fresh"; or a
#           temporary one removed at exit)
# fails if bin/engd is not built (unless "no_engd": the test runs a fake); with "h5py", skips
# (exit 77) when PYTHON lacks numpy/h5py.
#
# Checks: each one ends in ok or FAILED, or, when it prints a line of its own, in check_passed or
# check_failed. $fail is 1 once a check has failed. test_finish, the last command of a test,
# prints "N passed, N failed" and exits 0 when none failed, 1 otherwise (tests/run.sh: 77 skips).
test_setup() {
  name=$1; shift
  fresh=0; need_engd=1; need_h5py=0
  for word in "$@"; do
    case $word in
      h5py) need_h5py=1 ;;
      fresh) fresh=1 ;;
      no_engd) need_engd=0 ;;
      *) echo "test_setup: unknown word '$word'"; exit 1 ;;
    esac
  done
  PYTHON="${PYTHON:-$(scripts/find-python.sh)}"
  [ $need_engd = 0 ] || [ -x bin/engd ] || { echo "bin/engd is not built (run make)"; exit 1; }
  if [ $need_h5py = 1 ]; then
    "$PYTHON" -c 'import numpy, h5py' 2>/dev/null || { echo "skip: $PYTHON cannot import numpy and h5py"; exit 77; }
  fi
  if [ -n "$ENGD_TEST_TMP" ]; then
    T="$ENGD_TEST_TMP/$name"
    [ $fresh = 0 ] || rm -rf "$T"
    mkdir -p "$T" || exit 1
  else T=$(mktemp -d) || exit 1; trap 'rm -rf "$T"' EXIT; fi
}

fail=0
n_passed=0
n_failed=0
check_passed() { n_passed=$((n_passed + 1)); }
check_failed() { n_failed=$((n_failed + 1)); fail=1; }
# ok MESSAGE / FAILED MESSAGE: print "ok: MESSAGE" / "FAIL: MESSAGE" and count the check
ok() { echo "ok: $*"; check_passed; }
FAILED() { echo "FAIL: $*"; check_failed; }
# check_cmd DESCRIPTION COMMAND [ARGS...]: COMMAND (a test, grep, or a script on a here-document:
# its stdin is the caller's) must exit 0; no line when it does, "FAIL: DESCRIPTION" (and return 1)
# when it does not
check_cmd() {
  description=$1; shift
  if "$@"; then check_passed; else FAILED "$description"; return 1; fi
}
# float_le A B: A <= B as floats (NaN is never <=)
float_le() { "$PYTHON" -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null; }
# check_le DESCRIPTION A B: require A <= B as floats
check_le() {
  if float_le "$2" "$3"; then ok "$1: $2 <= $3"; else FAILED "$1: $2 > $3"; fi
}
# compare_histories LABEL TOL [compare_history.py options...] FILES...: the histories agree to TOL
compare_histories() {
  label=$1; tol=$2; shift 2
  check_cmd "$label" "$PYTHON" tests/compare_history.py --label "$label" --tol "$tol" "$@"
}
test_finish() {
  echo "$n_passed passed, $n_failed failed"
  exit $fail
}

# engd_exec RANKS [options...]: bin/engd on RANKS ranks, or without mpirun for RANKS 0, stopped
# after $engd_timeout seconds (the caller redirects its output)
engd_timeout=60
engd_exec() {
  n=$1; shift
  if [ "$n" = 0 ]; then timeout "$engd_timeout" bin/engd "$@"
  else timeout "$engd_timeout" scripts/mpirun.sh -n "$n" bin/engd "$@"; fi
}
# engd_refused NAME PATTERN RANKS [options...]: the run exits 1 with exactly one 'engd: error:'
# line, which matches PATTERN (extended, case-insensitive); output in $T/NAME.{out,err}
engd_refused() {
  name=$1; pattern=$2; n=$3; shift 3
  engd_exec "$n" "$@" >"$T/$name.out" 2>"$T/$name.err"
  rc=$?
  lines=$(grep -c 'engd: error:' "$T/$name.err")
  line=$(grep 'engd: error:' "$T/$name.err" | head -n 1)
  if [ $rc = 1 ] && [ "$lines" = 1 ] && echo "$line" | grep -Eiq -- "$pattern"; then echo "ok   $name: $line"; check_passed
  else FAILED "$name: exit $rc, $lines error lines, want /$pattern/: $line"; fi
}
# engd_run RANKS NAME [options...]: bin/engd writing $engd_output_dir/NAME.h5 ($T unless set;
# an existing file is left for engd to overwrite), stdout and stderr into $T/NAME.{out,err}; sets
# $summary to the last stdout line. A failed check (and return 1) when engd exits non-zero or the
# last line is not the SUMMARY.
engd_run() {
  n=$1; name=$2; shift 2
  summary=""
  if ! scripts/mpirun.sh -n "$n" bin/engd -output "${engd_output_dir:-$T}/$name.h5" "$@" >"$T/$name.out" 2>"$T/$name.err"; then
    FAILED "$name: engd -n $n $* exited non-zero:"; tail -n 5 "$T/$name.err"; return 1
  fi
  summary=$(tail -n 1 "$T/$name.out")
  case "$summary" in SUMMARY\ *) ;; *) FAILED "$name: the last stdout line is not the SUMMARY: '$summary'"; return 1 ;; esac
}
# engd_ranks RANKS NAME [options...]: a quiet engd_run into a new NAME.h5, printing its SUMMARY
engd_ranks() {
  n=$1; name=$2; shift 2
  rm -f "${engd_output_dir:-$T}/$name.h5"
  engd_run "$n" "$name" -quiet "$@" || return 1
  printf '%-14s %s\n' "$name" "$(echo "$summary" | sed 's/ rel_h1=.*s_per_it=/ s_per_it=/; s/ params=.*//')"
}
# engd_plain RANKS NAME [options...]: bin/engd with just the options given (within 120 s), stdout
# and stderr into $T/NAME.{out,err}; a failed check (and return 1) when it exits non-zero, else
# it prints NAME, the first two other lines of stdout (restart, stop) and the SUMMARY
engd_plain() {
  n=$1; name=$2; shift 2
  if ! timeout 120 scripts/mpirun.sh -n "$n" bin/engd "$@" >"$T/$name.out" 2>"$T/$name.err"; then
    FAILED "$name: engd -n $n $* exited non-zero:"; grep -v '^ *$' "$T/$name.err" | head -n 5; return 1
  fi
  printf '%-22s %s\n' "$name" "$(grep -v '^SUMMARY' "$T/$name.out" | head -n 2 | tr '\n' ' ')$(tail -n 1 "$T/$name.out" | sed 's/ rel_h1=.*//')"
}
# summary_field NAME: a field of $summary
summary_field() { echo "$summary" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
