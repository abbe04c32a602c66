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
