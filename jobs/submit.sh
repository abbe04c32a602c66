#!/bin/sh
# sbatch with the site settings of jobs/site.sh: partition and account (ENGD_PARTITION,
# ENGD_ACCOUNT) become -p/-A, ENGD_HOME is exported so the job finds this checkout, and a
# jobs/sweep.sbatch submission without --array gets --array=1-N for its sweep file's N lines.
#
#   jobs/submit.sh [SBATCH_OPTIONS...] jobs/SCRIPT.sbatch [ARGS...]
ENGD_HOME=$(cd "$(dirname "$0")/.." && pwd)
export ENGD_HOME
. "$ENGD_HOME/jobs/site.sh"
# refuse bad settings (ENGD_MAX_REQUEUES=abc, ...) now rather than when the job starts
ENGD_HOME=$ENGD_HOME bash -c '. "$ENGD_HOME/jobs/lib.sh" && engd_check_settings' || exit 2
set -- ${ENGD_PARTITION:+-p "$ENGD_PARTITION"} ${ENGD_ACCOUNT:+-A "$ENGD_ACCOUNT"} "$@"

# a sweep without --array: count the option lines of the file that follows the script
has_array=0; script=""; sweep=""
for arg in "$@"; do
  if [ -z "$script" ]; then
    case $arg in
      -a | -a* | --array | --array=*) has_array=1 ;;
      *.sbatch) script=$arg ;;
    esac
  elif [ -z "$sweep" ]; then sweep=$arg; fi
done
if [ "$has_array" = 0 ] && [ "$(basename "$script")" = sweep.sbatch ]; then
  [ -r "$sweep" ] || { echo "submit.sh: usage: jobs/submit.sh [SBATCH_OPTIONS...] jobs/sweep.sbatch SWEEP_FILE [ENGD_OPTIONS...]" >&2; exit 2; }
  n=$(grep -cv '^[[:space:]]*\(#\|$\)' "$sweep")
  [ "$n" -gt 0 ] || { echo "submit.sh: $sweep has no option lines" >&2; exit 2; }
  set -- --array="1-$n" "$@"
fi
exec sbatch "$@"
