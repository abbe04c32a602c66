#!/bin/sh
# Write a sweep file for jobs/sweep.sbatch: one option line per (config, seed), configs outer.
#
#   jobs/make_sweep.sh [-s SEEDS] [-x "OPTIONS"] CONFIG... > sweep.txt
#
#   -s SEEDS    seeds as a list of numbers and ranges, e.g. 0-9 or 0,3,10-12 (default 0)
#   -x OPTIONS  options appended to every line, e.g. "-max_it 500"
# A line reads "-options_file CONFIG -seed S OPTIONS" (CONFIG made absolute). The number of lines (the --array range)
# is reported on stderr.
usage() { echo "usage: jobs/make_sweep.sh [-s SEEDS] [-x \"OPTIONS\"] CONFIG... > sweep.txt" >&2; exit 2; }
seeds=0
extra=""
while getopts s:x:h opt; do
  case $opt in
    s) seeds=$OPTARG ;;
    x) extra=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage
seed_list=""
for part in $(echo "$seeds" | tr ',' ' '); do
  case $part in
    *[!0-9-]* | -* | *- | *-*-*) echo "make_sweep.sh: bad seed list '$seeds' (use e.g. 0-9 or 0,3,10-12)" >&2; exit 2 ;;
    *-*) seed_list="$seed_list $(seq "${part%-*}" "${part#*-}")" ;;
    *) seed_list="$seed_list $part" ;;
  esac
done
n=0
for config in "$@"; do
  [ -r "$config" ] || { echo "make_sweep.sh: cannot read $config" >&2; exit 2; }
  config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config") # jobs may run elsewhere
  for seed in $seed_list; do
    echo "-options_file $config -seed $seed${extra:+ $extra}"
    n=$((n + 1))
  done
done
echo "make_sweep.sh: $n lines: submit with  sbatch --array=1-$n jobs/sweep.sbatch FILE  (or jobs/submit.sh jobs/sweep.sbatch FILE)" >&2
