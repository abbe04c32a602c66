# Shared set-up of the driver tests (sourced, POSIX sh). test_setup NAME [h5py]:
#   PYTHON  a Python (scripts/find-python.sh unless set)
#   T       the test's scratch directory ($ENGD_TEST_TMP/NAME, or a temporary one removed at exit)
# fails if bin/engd is not built; with "h5py", skips (exit 77) when PYTHON lacks numpy/h5py.
test_setup() {
  PYTHON="${PYTHON:-$(scripts/find-python.sh)}"
  [ -x bin/engd ] || { echo "bin/engd is not built (run make)"; exit 1; }
  if [ "$2" = h5py ]; then
    "$PYTHON" -c 'import numpy, h5py' 2>/dev/null || { echo "skip: $PYTHON cannot import numpy and h5py"; exit 77; }
  fi
  if [ -n "$ENGD_TEST_TMP" ]; then T="$ENGD_TEST_TMP/$1"; mkdir -p "$T" || exit 1
  else T=$(mktemp -d) || exit 1; trap 'rm -rf "$T"' EXIT; fi
}

# engd_ranks RANKS NAME [options...]: a quiet bin/engd run writing $T/NAME.{out,err,h5}; sets
# $summary (its SUMMARY line) and, when the run fails, fail=1.
engd_ranks() {
  n=$1; name=$2; shift 2
  rm -f "$T/$name.h5"
  summary=""
  if ! scripts/mpirun.sh -n "$n" bin/engd -quiet -output "$T/$name.h5" "$@" >"$T/$name.out" 2>"$T/$name.err"; then
    echo "FAIL: $name: engd -n $n $* exited non-zero:"; tail -n 5 "$T/$name.err"; fail=1; return 1
  fi
  summary=$(tail -n 1 "$T/$name.out")
  case "$summary" in SUMMARY*) ;; *) echo "FAIL: $name: last line is not a SUMMARY: $summary"; fail=1; return 1 ;; esac
  printf '%-14s %s\n' "$name" "$(echo "$summary" | sed 's/ rel_h1=.*s_per_it=/ s_per_it=/; s/ params=.*//')"
}
# summary_field NAME: a field of $summary
summary_field() { echo "$summary" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
# check_le DESCRIPTION A B: require A <= B as floats (NaN fails); sets fail=1 otherwise
check_le() {
  if "$PYTHON" -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$2" "$3" 2>/dev/null; then echo "ok: $1: $2 <= $3"
  else echo "FAIL: $1: $2 > $3"; fail=1; fi
}
