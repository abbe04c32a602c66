#!/bin/sh
# engd's test runner (make check). Runs every C test binary build/tests/test_* under mpirun at
# the rank counts its source names in a line "/* ranks: 1 2 3 */", and every tests/test_*.sh.
# A test passes with exit 0, is skipped with exit 77, fails otherwise. Ends with the line
# "N passed, N failed" (", N skipped" when some were skipped).
cd "$(dirname "$0")/.." || exit 1
export PYTHON="${PYTHON:-$(scripts/find-python.sh)}"
export ENGD_TEST_TMP="${ENGD_TEST_TMP:-$(mktemp -d /tmp/engd-tests.XXXXXX)}"
passed=0; failed=0; skipped=0; failures=""
log="$ENGD_TEST_TMP/log"

record() { # name status seconds
  case "$2" in
    0)  passed=$((passed + 1)); printf '  ok    %-44s %5ss\n' "$1" "$3" ;;
    77) skipped=$((skipped + 1)); printf '  skip  %-44s %s\n' "$1" "$(tail -n 1 "$log")" ;;
    *)  failed=$((failed + 1)); failures="$failures $1"; printf '  FAIL  %-44s %5ss\n' "$1" "$3"; sed 's/^/        | /' "$log" | tail -n 25 ;;
  esac
}

for src in tests/test_*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  ranks=$(sed -n 's|.*/\* ranks: \([0-9 ]*\) \*/.*|\1|p' "$src" | head -n 1)
  for n in ${ranks:-1}; do
    start=$(date +%s)
    timeout 600 scripts/mpirun.sh -n "$n" "build/tests/$name" >"$log" 2>&1
    record "$name (ranks $n)" $? $(( $(date +%s) - start ))
  done
done
for script in tests/test_*.sh; do
  [ -e "$script" ] || continue
  start=$(date +%s)
  timeout 1200 sh "$script" >"$log" 2>&1
  record "$(basename "$script" .sh)" $? $(( $(date +%s) - start ))
done
[ -n "$failures" ] && echo "failed:$failures"
rm -rf "$ENGD_TEST_TMP"
if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ]
