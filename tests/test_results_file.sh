#!/bin/sh
# The HDF5 results file (-output; layout in include/engd/results.h) against the run's SUMMARY:
# history arrays of max_it+1 entries with iteration 0..max_it, /summary attributes equal to the
# SUMMARY line, /model/parameters with `params` entries, /model/widths, /options text with the
# run's options (one per line, as results.h documents), SUMMARY as the last stdout line (and the only one with -quiet), no .tmp left.
# Then the variants: -eval_every (errors only at evaluated iterations), -stop_rel_l2 (early
# stop: iterations+1 entries), -max_it 0, and overwriting an existing results file.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup results_file h5py

# run NAME RANKS [options...]: engd_run writing $T/NAME.{out,err,h5}; its SUMMARY is printed and
# must be the only one, with no .tmp left and a results file written
run() {
  name=$1; n=$2; shift 2
  engd_run "$n" "$name" "$@" || return 1
  echo "$name: $summary"
  check_cmd "$name: more than one SUMMARY line" [ "$(grep -c '^SUMMARY' "$T/$name.out")" = 1 ]
  check_cmd "$name: $name.h5.tmp left behind" [ ! -e "$T/$name.h5.tmp" ]
  check_cmd "$name: no results file" [ -s "$T/$name.h5" ]
}
# verify NAME MAX_IT EVAL_EVERY EXPECT_STOP_EARLY [option words the /options text must contain...]
verify() {
  check_cmd "$1: the results file" "$PYTHON" - "$T/$1.h5" "$(tail -n 1 "$T/$1.out")" "$2" "$3" "$4" "$@" <<'EOF'
import sys, h5py, numpy as np
path, summary_line, max_it, eval_every, early = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
want_options = sys.argv[11:]
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)

summary = dict(kv.split("=", 1) for kv in summary_line.split()[1:])
f = h5py.File(path, "r")
check(f.attrs.get("format") in (b"engd-results", "engd-results"), "format attribute is %r" % f.attrs.get("format"))
S = f["summary"].attrs
n_it = int(S["iterations"])
if early:
    check(0 < n_it < max_it, "an early stop should end before -max_it %d, got %d iterations" % (max_it, n_it))
else:
    check(n_it == max_it, "/summary iterations %d, want -max_it %d" % (n_it, max_it))

# /summary against the SUMMARY line (printed with %.6e, wall_s %.4f, s_per_it %.6f)
for key in ("iterations", "params", "points", "ranks"):
    check(int(S[key]) == int(summary[key]), "/summary %s %s != SUMMARY %s" % (key, S[key], summary[key]))
for key in ("loss", "rel_l2", "rel_h1"):
    a, b = float(S[key]), float(summary[key])
    check(abs(a - b) <= 1e-6 * abs(b) or (np.isnan(a) and np.isnan(b)), "/summary %s %r != SUMMARY %s" % (key, a, summary[key]))
check(abs(float(S["wall_s"]) - float(summary["wall_s"])) <= 1e-4, "/summary wall_s %r != SUMMARY %s" % (float(S["wall_s"]), summary["wall_s"]))
check(abs(float(S["s_per_it"]) - float(summary["s_per_it"])) <= 1e-6, "/summary s_per_it %r != SUMMARY %s" % (float(S["s_per_it"]), summary["s_per_it"]))
check("rms" in S and np.isfinite(S["rms"]), "/summary rms missing or not finite")

# /history: n_it+1 entries of every field, iteration 0..n_it
H = f["history"]
fields = ("iteration", "loss", "rel_l2", "rel_h1", "rms", "eta", "damping", "wall_s")
for name in fields:
    check(name in H and H[name].shape == (n_it + 1,), "/history/%s: shape %s, want (%d,)" % (name, H[name].shape if name in H else None, n_it + 1))
if not errors:
    it = H["iteration"][()]
    check(list(it) == list(range(n_it + 1)), "/history/iteration is not 0..%d: %s" % (n_it, it[:5]))
    check(np.all(np.isfinite(H["loss"][()])), "non-finite /history/loss")
    evaluated = (it % eval_every == 0) | (it == n_it)
    for name in ("rel_l2", "rel_h1", "rms"):
        v = H[name][()]
        check(np.all(np.isfinite(v[evaluated])), "/history/%s not finite at evaluated iterations" % name)
        if eval_every > 1:
            check(np.all(np.isnan(v[~evaluated])), "/history/%s should be NaN where not evaluated" % name)
    wall = H["wall_s"][()]
    check(wall[0] == 0 and np.all(np.diff(wall) >= 0), "/history/wall_s should start at 0 and not decrease")
    check(H["eta"][0] == 0, "/history/eta[0] should be 0")
    # the final errors are those of the last history entry (same parameters)
    check(abs(H["rel_l2"][-1] - S["rel_l2"]) <= 1e-12 * S["rel_l2"], "last /history/rel_l2 %r != /summary rel_l2 %r" % (H["rel_l2"][-1], S["rel_l2"]))
    check(abs(H["loss"][-1] - S["loss"]) <= 1e-10 * S["loss"], "last /history/loss %r != /summary loss %r" % (H["loss"][-1], S["loss"]))

# /model
theta = f["model/parameters"][()]
check(theta.shape == (int(summary["params"]),), "/model/parameters has %d entries, SUMMARY params=%s" % (theta.size, summary["params"]))
check(np.all(np.isfinite(theta)), "non-finite parameters")
widths = [int(w) for w in f["model/widths"][()]]
P = sum(widths[l] * widths[l - 1] + widths[l] for l in range(1, len(widths)))
check(P == theta.size, "/model/widths %s imply %d parameters, file has %d" % (widths, P, theta.size))

# /options text
text = f["options"].attrs["text"]
text = text.decode() if isinstance(text, bytes) else str(text)
for word in want_options:
    check(word in text, "/options text lacks %r" % word)
# results.h: "every option of the run, one per line" (checked once, on the first file)
import os
lines = [l for l in text.splitlines() if l.strip()]
per_line = [sum(1 for w in l.split() if w.startswith("-") and not w[1:2].isdigit() and w[1:2] != ".") for l in lines]
check(os.environ.get("CHECK_OPTION_LINES") != "1" or (lines and all(n == 1 for n in per_line)),
      "/options text is not one option per line (results.h): %d lines, up to %d options on a line: %r"
      % (len(lines), max(per_line or [0]), text[:80] + ("..." if len(text) > 80 else "")))

print("  file: %d history entries, widths %s, %d parameters, /summary loss %.6e rel_l2 %.6e, %d option lines"
      % (n_it + 1, widths, theta.size, S["loss"], S["rel_l2"], len(text.strip().splitlines())))
for e in errors:
    print("  FAIL: " + e)
sys.exit(1 if errors else 0)
EOF
}

echo "== default job, 2 ranks, -max_it 12 -net_hidden 24 (progress lines and Results: line on stdout)"
if run main 2 -options_file configs/poisson2d.opts -max_it 12 -net_hidden 24 -monitor_every 5; then
  check_cmd "no 'Results: $T/main.h5' line on stdout" grep -q "^Results: $T/main.h5\$" "$T/main.out"
  check_cmd "a 2-24-1 network has 97 parameters" grep -q ' params=97 ' "$T/main.out"
  CHECK_OPTION_LINES=1 verify main 12 1 0 "-net_hidden 24" "-max_it 12" "-monitor_every 5" "-output $T/main.h5"
fi

echo "== -quiet, 3 ranks: stdout is the SUMMARY line alone"
if run quiet 3 -options_file configs/poisson2d.opts -max_it 5 -quiet; then
  check_cmd "-quiet printed $(wc -l <"$T/quiet.out") lines" [ "$(wc -l <"$T/quiet.out")" = 1 ]
  check_cmd "SUMMARY does not end in ranks=3" grep -q ' ranks=3$' "$T/quiet.out"
  verify quiet 5 1 0 "-net_hidden 64" "-quiet"
fi

ONE_D="-options_file configs/poisson2d.opts -dim 1 -n_interior 30 -n_boundary 2 -net_hidden 16 -quiet"
echo "== -eval_every 5 -max_it 12 (1-D): errors only at iterations 0, 5, 10, 12"
# shellcheck disable=SC2086
run eval 2 $ONE_D -max_it 12 -eval_every 5 && verify eval 12 5 0 "-eval_every 5"

echo "== -stop_rel_l2 1e-3 -max_it 100 (1-D): early stop"
# shellcheck disable=SC2086
if run stop 2 $ONE_D -max_it 100 -stop_rel_l2 1e-3; then
  verify stop 100 1 1 "-stop_rel_l2 1e-3"
  check_cmd "-stop_rel_l2 1e-3 did not stop at the first iteration with rel_l2 <= 1e-3" "$PYTHON" - "$T/stop.h5" <<'EOF'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
rel = f["history/rel_l2"][()]
print("  stopped after iteration %d with rel_l2 %.3g; before it, min rel_l2 %.3g" % (len(rel) - 1, rel[-1], np.min(rel[:-1])))
sys.exit(0 if rel[-1] <= 1e-3 and np.all(rel[:-1] > 1e-3) and f["summary"].attrs["rel_l2"] <= 1e-3 else 1)
EOF
fi

echo "== -max_it 0 (1-D): one history entry"
# shellcheck disable=SC2086
run zero 1 $ONE_D -max_it 0 && verify zero 0 1 0 "-max_it 0"

echo "== overwriting an existing results file"
cp "$T/zero.h5" "$T/again.h5" 2>/dev/null
# shellcheck disable=SC2086
run again 1 $ONE_D -max_it 3 && verify again 3 1 0 "-max_it 3"

test_finish
