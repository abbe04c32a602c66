#!/bin/sh
# Bad input (README, "Errors"): every case must exit with code 1 before training starts, print
# exactly one "engd: error: ..." line that names the problem (the option or the offending
# value), no PETSc error traceback, no SUMMARY, and leave no results file (nor its .tmp)
# behind. Most cases run on 2 ranks (only one rank may print); the "direct" cases run bin/engd
# without mpirun, where stderr must be exactly that one line. Also: divergence (non-finite
# steps) exits 3 with a valid results file holding finite parameters, -max_failures is obeyed,
# and -help exits 0 and lists the options (README: "every option, grouped by object").
# The Krylov solver: non-positive tolerances and iteration counts, a KSP type other than cg,
# minres or cr, an unknown preconditioner, a Nystrom rank beyond P, -engd_matrix_free or
# adaptive damping without cg, adaptive damping from zero.
# KFAC: negative damping, EMA or momentum outside [0, 1), an unknown variant or damping split,
# -kfac_update_every 0, -kfac_lr_init 0, -engd_pc_kfac_damping 0, -engd_pc_type kfac with hngd.
# Checkpoint options: negative or zero counts and an unwritable -checkpoint_dir are refused.
# Careless input: options without a value, integers beyond 32 bits, networks and point sets
# too large to index, malformed options files (binary, a first word that is not an option, two
# options on a line, a directory, a nested missing file, -options_file last), non-finite reals
# and text that is not a number or a logical; a well-formed options file still runs.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup bad_input
have_h5py=1
"$PYTHON" -c 'import numpy, h5py' 2>/dev/null || have_h5py=0

engd_timeout=120
: >"$T/failed"
# case_failed TEXT: a failed check, listed at the end
case_failed() { echo "$*" >>"$T/failed"; check_failed; }
OPTS="-options_file configs/poisson2d.opts -max_it 3"

# bad RANKS PATTERN [options...]: RANKS 0 = run bin/engd directly (no mpirun). PATTERN is an
# extended regular expression (case-insensitive) the error line must match. Each run gets
# -output $T/bad.h5 first (a later -output in the options overrides it).
bad() {
  n=$1; pattern=$2; shift 2
  out="$T/bad.h5"
  rm -f "$out" "$out.tmp"
  engd_exec "$n" -output "$out" "$@" >"$T/stdout" 2>"$T/stderr"
  rc=$?
  errors=$(grep -c 'engd: error:' "$T/stderr")
  line=$(grep 'engd: error:' "$T/stderr" | head -n 1)
  problems=""
  case $rc in
    1) ;;
    0) problems="$problems exit status 0;" ;;
    124) problems="$problems timed out;" ;;
    *) problems="$problems exit status $rc (README: bad input exits 1);" ;;
  esac
  [ "$errors" = 1 ] || problems="$problems $errors 'engd: error:' lines;"
  [ -n "$line" ] && { echo "$line" | grep -Eiq -- "$pattern" || problems="$problems message does not match /$pattern/;"; }
  grep -q 'PETSC ERROR' "$T/stderr" "$T/stdout" && problems="$problems PETSc error traceback printed;"
  grep -q '^SUMMARY' "$T/stdout" && problems="$problems a SUMMARY was printed;"
  grep -Eq '^ +it +loss' "$T/stdout" && problems="$problems it started training before failing;"
  if [ "$n" = 0 ] && [ "$(wc -l <"$T/stderr")" -ne 1 ]; then problems="$problems stderr has $(wc -l <"$T/stderr") lines, not 1;"; fi
  { [ -e "$out" ] || [ -e "$out.tmp" ]; } && problems="$problems a results file was left behind;"
  where=$([ "$n" = 0 ] && echo direct || echo "$n ranks")
  if [ -z "$problems" ]; then
    printf 'ok   %-48s rc=%s  %s\n' "[$where] $*" "$rc" "$line"
    check_passed
  else
    printf 'FAIL %-48s rc=%s:%s\n' "[$where] $*" "$rc" "$problems"
    sed 's/^/       stderr| /' "$T/stderr" | cut -c1-160 | head -n 4
    case_failed "[$where] $* (rc=$rc):$problems"
  fi
}

echo "== unknown option values"
# shellcheck disable=SC2086
{
bad 2 'optimizer.*foo|foo.*optimizer' $OPTS -optimizer foo
bad 0 'optimizer.*foo|foo.*optimizer' $OPTS -optimizer foo
bad 2 'solution.*bar|bar.*solution' $OPTS -solution bar
bad 2 'sampler.*baz|baz.*sampler' $OPTS -sampler baz
bad 2 'net_activation.*relu|relu.*net_activation' $OPTS -net_activation relu
bad 2 'engd_gram.*nope|nope.*engd_gram' $OPTS -engd_gram nope
bad 2 'problem.*xyz|xyz.*problem' $OPTS -problem xyz
bad 2 'max_time.*non-negative' $OPTS -max_time -1
bad 2 'chunk_rows.*non-negative' $OPTS -chunk_rows -5
echo "== the Krylov solver (-engd_gram cg)"
bad 2 'engd_ksp_rtol.*\(0, 1\)' $OPTS -engd_gram cg -engd_ksp_rtol 0
bad 0 'engd_ksp_rtol.*\(0, 1\)' $OPTS -engd_gram cg -engd_ksp_rtol -1e-6
bad 2 'engd_ksp_atol.*positive' $OPTS -engd_gram cg -engd_ksp_atol 0
bad 2 'engd_ksp_max_it.*positive' $OPTS -engd_gram cg -engd_ksp_max_it 0
bad 2 'engd_ksp_type must be cg, minres or cr.*gmres' $OPTS -engd_gram cg -engd_ksp_type gmres
bad 0 'engd_pc_type.*ilu|ilu.*engd_pc_type' $OPTS -engd_gram cg -engd_pc_type ilu
bad 0 'unknown option -engd_ksp_max_it' $OPTS -engd_gram replicated -engd_ksp_max_it 5
bad 0 'gram_eigensolver.*qr|qr.*gram_eigensolver' $OPTS -engd_gram replicated -gram_eigensolver qr
bad 2 'gram_refine -1.*0 or more' $OPTS -engd_gram replicated -gram_refine -1
bad 0 'gram_ema 1.*\[0, 1\)' $OPTS -engd_gram replicated -gram_ema 1
bad 0 'gram_ema.*\[0, 1\)' $OPTS -engd_gram replicated -gram_ema -0.5
bad 0 'gram_refine.*gram_ema 0.5.*one of them' $OPTS -engd_gram replicated -gram_ema 0.5 -gram_refine 1
bad 2 'engd_nystrom_rank.*positive' $OPTS -engd_gram cg -engd_pc_type nystrom -engd_nystrom_rank 0
bad 2 'engd_nystrom_rank 300 exceeds the 257 parameters' $OPTS -engd_gram cg -engd_pc_type nystrom -engd_nystrom_rank 300
bad 2 'engd_matrix_free needs -engd_gram cg' $OPTS -engd_matrix_free
bad 2 'engd_damping_adapt needs a positive' $OPTS -engd_gram cg -engd_damping_adapt
bad 2 'engd_damping_adapt needs -engd_gram cg' $OPTS -engd_damping 1e-3 -engd_damping_adapt
bad 2 'ls_type.*walk|walk.*ls_type' $OPTS -ls_type walk
bad 2 'ls_bracket_width.*at least 2.*1' $OPTS -ls_type bracket -ls_bracket_width 1
bad 0 'ls_bracket_width.*at least 2.*-3' $OPTS -ls_type bracket -ls_bracket_width -3
bad 2 'ls_bracket_start.*0\.\.30.*31' $OPTS -ls_type bracket -ls_bracket_start 31
bad 2 'ls_bracket_start.*0\.\.9.*-1' $OPTS -ls_type bracket -ls_steps 10 -ls_bracket_start -1
bad 2 'ls_bracket_width' $OPTS -ls_type bracket -ls_bracket_width
echo "== misspelled option"
bad 2 'net_hiden' $OPTS -net_hiden 32
bad 0 'net_hiden' $OPTS -net_hiden 32
echo "== non-positive or malformed sizes"
bad 2 'n_interior' $OPTS -n_interior 0
bad 2 'net_hidden' $OPTS -net_hidden 0
bad 2 'net_hidden' $OPTS -net_hidden 64,-3
bad 2 'net_hidden' $OPTS -net_hidden 64,,32
bad 2 'max_it' $OPTS -max_it -1
bad 2 'n_eval' $OPTS -n_eval 0
bad 2 'n_boundary' $OPTS -n_boundary -4
bad 2 'dim' $OPTS -dim 0
bad 2 'abc' $OPTS -max_it abc
bad 2 'adam_lr' $OPTS -optimizer adam -adam_lr -1
echo "== impossible grids, too many ranks"
bad 2 'n_interior.*1000.*grid|grid.*n_interior' $OPTS -n_interior 1000
bad 2 'n_boundary.*122' $OPTS -n_boundary 122
bad 2 'resample_every.*uniform' $OPTS -resample_every 5
bad 2 'n_interior 1000.*stratified' $OPTS -sampler stratified -n_interior 1000
bad 2 'trapezoid.*sampler grid.*stratified' -problem ritz1d -net_hidden 4 -max_it 1 -sampler stratified
bad 2 'engd_rcond_raise_after.*non-negative' $OPTS -engd_rcond_raise_after -1
bad 3 'ranks.*boundary|boundary.*ranks' $OPTS -dim 1 -n_interior 30 -n_boundary 2
bad 3 'ranks.*eval|eval.*ranks' $OPTS -n_eval 2
echo "== exact Newton, TAO and LM-Newton options"
bad 2 "hessian_max_params 4096.*lanczos" $OPTS -optimizer newton -net_hidden 64,64
bad 2 "tao_method xyz is not a TAO type" $OPTS -optimizer tao -tao_method xyz
bad 2 "newton_lm_damping must be non-negative" $OPTS -optimizer newton_lm -newton_lm_damping -1
bad 2 "lbfgs_memory must be at least 1" $OPTS -optimizer lbfgs -lbfgs_memory 0
bad 2 "hessian_spectrum" $OPTS -optimizer newton -hessian_spectrum bogus
echo "== unwritable output path"
}
rm -rf "$T/ro"; mkdir -p "$T/ro"
if [ -e /nonexistent ]; then missing="$T/missing/dir/x.h5"; echo "note: /nonexistent exists here; using $missing"
else missing=/nonexistent/dir/x.h5; fi
# shellcheck disable=SC2086
bad 2 "output.*$missing" $OPTS -output "$missing"
if [ -e "$(dirname "$missing")" ]; then echo "FAIL: $(dirname "$missing") was created"; case_failed "-output $missing: created $(dirname "$missing")"; else check_passed; fi
# an existing directory given as the output file: must be refused before training, too
# shellcheck disable=SC2086
bad 2 "$T/ro" $OPTS -output "$T/ro"
rmdir "$T/ro" 2>/dev/null

echo "== checkpoint options"
# shellcheck disable=SC2086
{
bad 0 'checkpoint_every.*-1' $OPTS -checkpoint_every -1
bad 0 'checkpoint_keep.*0' $OPTS -checkpoint_keep 0
bad 0 'time_limit.*-5' $OPTS -time_limit -5
: >"$T/plain_file"
bad 2 "checkpoint_dir.*$T/plain_file/ckpt" $OPTS -checkpoint_dir "$T/plain_file/ckpt"
bad 0 "checkpoint_dir.*$T/plain_file" $OPTS -checkpoint_dir "$T/plain_file"
bad 0 'checkpoint_dir.*/proc/engd-checkpoints' $OPTS -checkpoint_dir /proc/engd-checkpoints
}
rm -f "$T/plain_file"

echo "== missing -options_file"
bad 0 'no_such_config\.opts' -options_file "$T/no_such_config.opts"
bad 2 'no_such_config\.opts' -options_file "$T/no_such_config.opts"

echo "== options given without a value (README, \"Errors\")"
printf -- '-max_it\n' >"$T/novalue.opts"
# shellcheck disable=SC2086
{
bad 0 'max_it needs a value' $OPTS -max_it
bad 0 'checkpoint_every needs a value' $OPTS -checkpoint_every
bad 0 'adam_lr needs a value' $OPTS -optimizer adam -adam_lr
bad 0 'seed needs a value' $OPTS -seed
bad 2 'seed needs a value' $OPTS -seed -quiet
bad 0 'checkpoint_every needs a value' $OPTS -checkpoint_every ""
bad 0 'net_hidden needs a value' $OPTS -net_hidden ""
bad 0 'max_it needs a value' $OPTS -options_file "$T/novalue.opts"
echo "== values beyond 32 bits, networks and point sets too large"
bad 0 'max_it: 4294967297 is out of range \(at most 2147483647\)' $OPTS -max_it 4294967297
bad 0 'checkpoint_every: 9223372036854775808 is out of range' $OPTS -checkpoint_every 9223372036854775808
bad 0 'n_interior: -4294967296 is out of range' $OPTS -n_interior -4294967296
bad 0 'net_hidden: 4294967360 is out of range' $OPTS -net_hidden 4294967360
bad 0 'net_hidden 100000,100000: .*10000500001 parameters.*[0-9]+ MB' $OPTS -net_hidden 100000,100000
bad 0 'Gram matrix of 91501 parameters.*[0-9]+ MB' $OPTS -net_hidden 300,300 -engd_gram replicated
bad 0 'Jacobian of 360120 rows.*8001 parameters.*[0-9]+ MB' $OPTS -n_interior 360000 -net_hidden 2000
}
echo "== malformed options files"
printf '\000\001\002\003binary' >"$T/binary.opts"
printf -- '-max_it 3\nmax_it 5\n' >"$T/first_word.opts"
printf -- '-max_it 3\n-a 1 -b 2\n' >"$T/two_options.opts"
mkdir -p "$T/directory.opts"
printf -- '# the next file does not exist\n-options_file %s\n' "$T/absent.opts" >"$T/outer.opts"
bad 0 "binary\.opts' line 1: binary content" -options_file "$T/binary.opts"
bad 0 "first_word\.opts' line 2: 'max_it' is not an option" -options_file "$T/first_word.opts"
bad 0 "two_options\.opts' line 2: two options on one line \('-a 1 -b 2'\)" -options_file "$T/two_options.opts"
bad 0 "directory\.opts'.*is a directory" -options_file "$T/directory.opts"
bad 0 "absent\.opts' \(named in '.*outer\.opts' line 2\).*cannot read" -options_file "$T/outer.opts"
bad 2 "absent\.opts' \(named in '.*outer\.opts' line 2\).*cannot read" -options_file "$T/outer.opts"
# shellcheck disable=SC2086
bad 0 '-options_file needs a file name' $OPTS -options_file
# shellcheck disable=SC2086
bad 2 '-options_file needs a file name' $OPTS -options_file
rmdir "$T/directory.opts"
rm -f "$T/good file.h5"
printf -- '  # blanks, tabs, comments, a flag, a quoted value and an alias are fine\n\n-options_file configs/poisson2d.opts\n\t-max_it 2   # two\n-quiet\n-output "%s"\nalias -its -max_it\n' "$T/good file.h5" >"$T/good.opts"
if timeout 120 bin/engd -options_file "$T/good.opts" >"$T/stdout" 2>"$T/stderr" && [ -s "$T/good file.h5" ] && grep -q '^SUMMARY iterations=2 ' "$T/stdout"; then
  echo "ok   a well-formed options file (comments, blanks, tabs, flag, quotes, alias, nested) runs"; check_passed
else echo "FAIL: a well-formed options file was refused"; sed 's/^/       stderr| /' "$T/stderr" | head -n 4; case_failed "well-formed options file refused"; fi
echo "== non-finite real values"
# shellcheck disable=SC2086
{
bad 0 "interior_weight: 'inf' is not a finite number" $OPTS -interior_weight inf
bad 0 "boundary_weight: 'nan' is not a finite number" $OPTS -boundary_weight nan
bad 0 "engd_damping: 'inf' is not a finite number" $OPTS -engd_damping inf
bad 0 "gram_memory_mb: 'nan' is not a finite number" $OPTS -gram_memory_mb nan
bad 0 "adam_lr: '-inf' is not a finite number" $OPTS -optimizer adam -adam_lr -inf
bad 0 "stop_rel_l2: '1e999' is not a finite number" $OPTS -stop_rel_l2 1e999
bad 0 "heat_kappa: 'inf' is not a finite number" -options_file configs/heat1d.opts -max_it 3 -heat_kappa inf
bad 0 "helmholtz_k: 'nan' is not a finite number" -options_file configs/helmholtz2d.opts -max_it 3 -helmholtz_k nan
bad 0 "nonlinear_amplitude: 'nan' is not a finite number" -options_file configs/nonlinear2d.opts -max_it 3 -nonlinear_amplitude nan
echo "== the error names the option"
bad 0 "max_it: 'abc' is not an integer" $OPTS -max_it abc
bad 0 "eval_every: '2.5' is not an integer" $OPTS -eval_every 2.5
bad 0 "quiet: 'maybe' is not true or false" $OPTS -quiet maybe
bad 0 "engd_damping: '1e-3x' is not a number" $OPTS -engd_damping 1e-3x
}

echo "== kernel solver and SPRING"
SPRING_OPTS="-problem poisson -dim 2 -net_hidden 16 -n_interior 100 -n_boundary 40 -max_it 3 -optimizer spring"
# shellcheck disable=SC2086
{
bad 2 'engd_damping' -options_file configs/ritz_poisson2d.opts -max_it 3 -engd_gram kernel -engd_damping 0
bad 2 'engd_damping' -options_file configs/poisson2d_hngd.opts -max_it 3 -engd_gram kernel
bad 2 'spring_momentum' $SPRING_OPTS -spring_momentum 1
bad 2 'spring_momentum' $SPRING_OPTS -spring_momentum -0.5
bad 2 'spring_damping' $SPRING_OPTS -spring_damping -1
bad 2 'spring_norm_cap' $SPRING_OPTS -spring_step fixed -spring_norm_cap 0
bad 2 'spring_lr' $SPRING_OPTS -spring_step fixed -spring_lr 0
bad 2 'spring_step.*(foo|linesearch)|foo.*spring_step' $SPRING_OPTS -spring_step foo
bad 2 'spring.*engd_gram kernel' $SPRING_OPTS -engd_gram replicated
bad 2 'spring.*(energy|Ritz)' -options_file configs/ritz1d.opts -max_it 3 -optimizer spring
}
echo "== KFAC and KFAC*"
KFAC_OPTS="-problem poisson -dim 2 -net_hidden 16 -n_interior 100 -n_boundary 40 -max_it 3 -optimizer kfac"
# shellcheck disable=SC2086
{
bad 2 'kfac_damping' $KFAC_OPTS -kfac_damping -1
bad 2 'kfac_ema' $KFAC_OPTS -kfac_ema 1
bad 2 'kfac_ema' $KFAC_OPTS -kfac_ema -0.1
bad 2 'kfac_variant.*(foo|expand)|foo.*kfac_variant' $KFAC_OPTS -kfac_variant foo
bad 2 'kfac_momentum' $KFAC_OPTS -kfac_momentum 1
bad 2 'kfac_update_every' $KFAC_OPTS -kfac_update_every 0
bad 2 'kfac_lr_init' $KFAC_OPTS -optimizer kfac_star -kfac_lr_init 0
bad 2 'kfac_damping_split.*(foo|pi)|foo.*kfac_damping_split' $KFAC_OPTS -kfac_damping_split foo
bad 2 'engd_pc_kfac_damping' $OPTS -engd_gram cg -engd_pc_type kfac -engd_pc_kfac_damping 0
bad 2 'engd_pc_type kfac.*optimizer engd' -options_file configs/poisson2d_hngd.opts -max_it 3 -engd_gram cg -engd_pc_type kfac
}
echo "== non-finite training: Adam with -adam_lr 1e300"
rm -f "$T/nan.h5"
timeout 120 scripts/mpirun.sh -n 2 bin/engd -options_file configs/poisson2d.opts -quiet -max_it 30 -optimizer adam -adam_lr 1e300 -checkpoint_dir "$T/ckpt" -output "$T/nan.h5" >"$T/stdout" 2>"$T/stderr"
rc=$?
line=$(grep 'engd: error:' "$T/stderr" | head -n 1)
echo "exit $rc; $line"
echo "stdout: $(grep -c 'non-finite' "$T/stdout") 'non-finite' notices; $(tail -n 1 "$T/stdout")"
[ $rc = 3 ] && check_passed || { echo "FAIL: divergence: exit status $rc, want 3"; case_failed "divergence: exit status $rc, want 3"; }
[ "$(grep -c 'engd: error:' "$T/stderr")" = 1 ] && check_passed || { echo "FAIL: divergence: want one 'engd: error:' line"; sed 's/^/       stderr| /' "$T/stderr" | head -n 4; case_failed "divergence: not one error line"; }
echo "$line" | grep -qi 'non-finite' && check_passed || { echo "FAIL: divergence: the error line does not mention non-finite steps"; case_failed "divergence: message"; }
if [ ! -s "$T/nan.h5" ] || [ -e "$T/nan.h5.tmp" ]; then echo "FAIL: divergence: no results file (or a .tmp left) after a diverged run"; case_failed "divergence: results file"
elif [ $have_h5py = 1 ]; then
  "$PYTHON" - "$T/nan.h5" <<'EOF' && check_passed || case_failed "divergence: results file content"
import sys, h5py, numpy as np
try:
    f = h5py.File(sys.argv[1], "r")
    theta = f["model/parameters"][()]
    it = f["history/iteration"][()]
    n = int(f["summary"].attrs["iterations"])
    params = int(f["summary"].attrs["params"])
except Exception as e:
    print("FAIL: divergence: the results file is not readable: %s" % e); sys.exit(1)
print("results: %d parameters, finite: %s; %d history entries, summary iterations %d, loss %g"
      % (theta.size, bool(np.all(np.isfinite(theta))), it.size, n, f["summary"].attrs["loss"]))
ok = theta.size == params and np.all(np.isfinite(theta)) and it.size == n + 1 and list(it) == list(range(n + 1))
if not ok:
    print("FAIL: divergence: want finite parameters (params entries) and iterations+1 history entries")
sys.exit(0 if ok else 1)
EOF
fi
timeout 120 scripts/mpirun.sh -n 2 bin/engd -options_file configs/poisson2d.opts -quiet -max_it 30 -optimizer adam -adam_lr 1e300 -max_failures 2 -checkpoint_dir "$T/ckpt2" >"$T/stdout" 2>"$T/stderr"
rc=$?
if [ $rc = 3 ] && grep -q 'engd: error:.*2 consecutive non-finite' "$T/stderr" && [ "$(grep -c 'step rejected' "$T/stdout")" = 2 ]; then
  ok "-max_failures 2: exit 3 after 2 rejected steps"
else echo "FAIL: -max_failures 2: exit $rc, $(grep -c 'step rejected' "$T/stdout") rejected steps"; sed 's/^/       stderr| /' "$T/stderr" | head -n 4; case_failed "-max_failures 2"; fi

echo "== solver options under -engd_gram auto"
# auto may choose any solver at set-up: every solver's options are accepted (and applied when
# that solver is chosen), not refused as unknown before training
if timeout 120 bin/engd $OPTS -quiet -engd_ksp_max_it 5 -gram_eigensolver tridiagonal >"$T/stdout" 2>"$T/stderr" && grep -q '^SUMMARY' "$T/stdout"; then ok "auto: -engd_ksp_max_it and -gram_eigensolver accepted"
else echo "FAIL: auto refused a solver option:"; sed 's/^/       stderr| /' "$T/stderr" | head -n 3; case_failed "auto refused a solver option"; fi

echo "== -help"
timeout 120 bin/engd -help >"$T/help" 2>&1
rc=$?
missing_opts=""
for o in -net_hidden -engd_gram -adam_lr -ls_steps -n_interior -output -optimizer -max_it -sampler -checkpoint_every -checkpoint_dir -checkpoint_keep -restart -time_limit \
    -engd_ksp_type -engd_pc_type -engd_matrix_free -ls_type -ls_bracket_width -gram_memory_mb -gram_eigensolver -gram_refine -gram_ema -gram_ema_identity -engd_rcond_raise_after \
    -kfac_damping -kfac_ema -kfac_variant -kfac_momentum -kfac_lr_init -engd_pc_kfac_damping; do
  grep -q -- "^ *${o}[ :<]" "$T/help" || missing_opts="$missing_opts $o"
done
if [ $rc = 0 ] && [ -z "$missing_opts" ]; then ok "-help exits 0 and lists the options"
else echo "FAIL: -help: exit $rc; options not listed:${missing_opts:- none}"; case_failed "-help: exit $rc; options not listed:${missing_opts:- none}"; fi

[ -s "$T/failed" ] && { echo "failed cases:"; sed 's/^/  /' "$T/failed"; }
test_finish
