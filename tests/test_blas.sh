#!/bin/sh
# OpenBLAS's kernels: engd asks for the AVX-512/AVX2 ones when the library fell back to pre-AVX2
# kernels on a CPU it does not know (src/sys/sys.c, EngdEnsureBlasSettings), keeps the user's
# OPENBLAS_CORETYPE, says which kernels run in the header, and its choice gives the same bits as
# the same kernels chosen by hand.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup blas h5py

# header OUT [VAR=value | -u VAR]...: a 5-iteration default job into OUT.h5; prints the BLAS line
header() {
  out=$1; shift
  env "$@" bin/engd -options_file configs/poisson2d.opts -max_it 5 -eval_every 1 -output "$T/$out.h5" >"$T/$out.log" 2>&1
  sed -n 's/^Ranks: 1; BLAS: //p' "$T/$out.log"
}

mine=$(header user OPENBLAS_CORETYPE=Prescott)
case $mine in
  "OpenBLAS, Prescott kernels (OPENBLAS_CORETYPE)") ok "the user's OPENBLAS_CORETYPE is kept and named: $mine" ;;
  "not OpenBLAS") ok "not linked to OpenBLAS: nothing to choose"; test_finish ;;
  *) FAILED "OPENBLAS_CORETYPE=Prescott, the header says: '$mine'" ;;
esac

chosen=$(header auto -u OPENBLAS_CORETYPE)
core=$(echo "$chosen" | sed -n 's/^OpenBLAS, \([A-Za-z0-9]*\) kernels.*/\1/p')
[ -n "$core" ] && ok "the header names the kernels: $chosen" || FAILED "no kernels in the header: '$chosen'"
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  case $core in
    Prescott | Core2 | Penryn | Dunnington | Nehalem | Atom | Sandybridge) FAILED "an AVX2 CPU runs OpenBLAS's pre-AVX2 $core kernels" ;;
    *) ok "an AVX2 CPU runs $core kernels" ;;
  esac
fi
if [ -n "$core" ]; then
  header hand OPENBLAS_CORETYPE="$core" >/dev/null
  compare_histories "engd's choice ($core) = OPENBLAS_CORETYPE=$core, bit for bit" 0 --params "$T/auto.h5" "$T/hand.h5"
fi
test_finish
