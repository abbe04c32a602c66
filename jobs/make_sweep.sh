#!/bin/sh
# Write a sweep file for jobs/sweep.sbatch: one option line per (config, seed), configs outer.
#
#   jobs/make_sweep.sh [-s SEEDS] [-x "OPTIONS"] CONFIG... > sweep.txt
#
#   -s SEEDS    seeds as a list of numbers and ranges, e.g. 0-9 or 0,3,10-12 (default 0)
#   -x OPTIONS  options appended to every line, e.g. "-max_it 500"
# A line reads "-options_file CONFIG -seed S OPTIONS" (CONFIG made absolute, and in single quotes
# when it holds blanks or other characters beyond letters, digits and _./:=+@%,-; sweep.sbatch
# reads the quotes). OPTIONS are copied as given. The number of lines (the --array range) is
# reported on stderr. Bad seeds or configs: a message and exit 2, nothing written.
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
bad_seeds() { echo "make_sweep.sh: bad seed list '$seeds': $1 (use e.g. 0-9 or 0,3,10-12)" >&2; exit 2; }
decimal() { echo "$1" | sed 's/^0*\([0-9]\)/\1/'; } # without leading zeros
seed_list=""
for part in $(echo "$seeds" | tr ',' ' '); do
  case $part in
    *[!0-9-]* | -* | *- | *-*-*) bad_seeds "'$part' is not a number or a range" ;;
    *-*)
      first=$(decimal "${part%-*}") last=$(decimal "${part#*-}")
      [ "$first" -le "$last" ] || bad_seeds "the range $part is empty (it descends)"
      seed_list="$seed_list $(seq "$first" "$last")" ;;
    *) seed_list="$seed_list $(decimal "$part")" ;;
  esac
done
[ -n "$seed_list" ] || bad_seeds "no seeds"
# quote WORD: WORD as one word of a sweep line (single quotes unless it is plain)
quote() {
  case $1 in
    '' | *[!A-Za-z0-9_./:=+@%,-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
    *) printf '%s' "$1" ;;
  esac
}
nl='
'
for config in "$@"; do
  case $config in *"$nl"*) echo "make_sweep.sh: a config path holds a newline: not possible in a sweep line" >&2; exit 2 ;; esac
  [ -f "$config" ] && [ -r "$config" ] || { echo "make_sweep.sh: cannot read $config" >&2; exit 2; }
done
n=0
for config in "$@"; do
  config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config") # jobs may run elsewhere
  config=$(quote "$config")
  for seed in $seed_list; do
    echo "-options_file $config -seed $seed${extra:+ $extra}"
    n=$((n + 1))
  done
done
echo "make_sweep.sh: $n lines: submit with  sbatch --array=1-$n jobs/sweep.sbatch FILE  (or jobs/submit.sh jobs/sweep.sbatch FILE)" >&2
