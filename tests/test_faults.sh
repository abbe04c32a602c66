#!/bin/sh
# Faults (README, "Errors" and "Checkpoint and restart"): nothing lost, nothing clobbered.
#   - targets: -output on a character device, a FIFO, a socket-less directory and a symbolic
#     link, all made here in the test's own directory: refused at start-up, the node untouched;
#     -restart on a FIFO: refused at once (no hang); -log_view to a missing directory: refused
#     before training;
#   - full disk (a small tmpfs mounted here; skipped without the privilege): the results file
#     and checkpoints at several fill levels fail with one line naming the file and the cause,
#     exit 1, no temporary left, earlier checkpoints intact, and the run continues bit for bit
#     once space is freed; a failed results write leaves the final state in a checkpoint and
#     still prints the SUMMARY;
#   - other runs' checkpoints: a fresh run refuses their directory (and -checkpoint_overwrite
#     takes it over), a diverging run without checkpoint options writes none, a restarted run
#     rotates only its own files; two concurrent writers of one directory or one -output are
#     refused with a line naming the holder;
#   - damaged checkpoints: flipped bytes in /model/parameters or /history and non-finite
#     parameters are refused by -restart FILE and skipped by -restart latest;
#   - a restart with another -solution, point count, sampler or seed is refused naming it;
#     -max_it stays free;
#   - SIGUSR1 during start-up checkpoints and exits 75; ranks whose mpirun was killed stop.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup faults h5py

SMALL="-options_file configs/poisson2d.opts -n_interior 100 -n_boundary 40 -net_hidden 16 -n_eval 400 -quiet"
# sums DIR: checksums of the checkpoint files of DIR
sums() { (cd "$1" && md5sum ckpt-* 2>/dev/null) }

echo "== targets that are not regular files"
: >"$T/plain"
mkfifo "$T/fifo"
ln -s "$T/plain" "$T/link"
mkdir "$T/dir"
if mknod "$T/null" c 1 3 2>/dev/null; then
  engd_refused device 'character device' 0 $SMALL -max_it 2 -output "$T/null"
  [ -c "$T/null" ] && check_passed || FAILED "device: $T/null is no longer a character device"
else echo "skip: mknod needs root (device case)"; fi
engd_refused fifo 'FIFO' 0 $SMALL -max_it 2 -output "$T/fifo"
[ -p "$T/fifo" ] && check_passed || FAILED "fifo: $T/fifo is no longer a FIFO"
engd_refused link 'symbolic link' 2 $SMALL -max_it 2 -output "$T/link"
[ -L "$T/link" ] && [ ! -s "$T/plain" ] && check_passed || FAILED "link: the link or its target changed"
engd_refused dir 'directory' 0 $SMALL -max_it 2 -output "$T/dir"
engd_refused restart_fifo 'FIFO' 0 $SMALL -max_it 2 -restart "$T/fifo"
engd_refused log_view 'log_view' 0 $SMALL -max_it 2 -log_view ":$T/missing/log.txt"
ls "$T" | grep -q '\.tmp$' && FAILED "targets: a temporary was left in $T" || check_passed

echo "== full disk"
mkdir -p "$T/tmpfs"
if mount -t tmpfs -o size=256k engd-test "$T/tmpfs" 2>/dev/null; then
  D=$T/tmpfs
  trap 'umount "$T/tmpfs" 2>/dev/null' EXIT
  # the results file on a full disk: the final state goes to a checkpoint, SUMMARY printed
  dd if=/dev/zero of="$D/filler" bs=1k count=252 2>/dev/null
  engd_refused full_results "results file .*$D/out.h5.*No space left on device.*checkpoint '$T/full_ck/ckpt-00000004.h5'" 2 $SMALL -max_it 4 -output "$D/out.h5" -checkpoint_dir "$T/full_ck"
  grep -q '^SUMMARY iterations=4' "$T/full_results.out" && check_passed || FAILED "full_results: no SUMMARY line"
  [ -f "$T/full_ck/ckpt-00000004.h5" ] && check_passed || FAILED "full_results: no final checkpoint"
  # checkpoints at several fill levels: each write fails cleanly, earlier ones stay
  for free_k in 0 40 90 140; do
    rm -rf "$D"/*
    dd if=/dev/zero of="$D/filler" bs=1k count=$((250 - free_k)) 2>/dev/null
    engd_refused "full_ckpt_$free_k" "checkpoint '$D/ck/ckpt-[0-9]*\.h5'.*No space left on device" 2 $SMALL -max_it 40 -checkpoint_every 2 -checkpoint_keep 10 -checkpoint_dir "$D/ck" -output "$T/full_$free_k.h5"
    ls "$D/ck" 2>/dev/null | grep -q '\.tmp$' && FAILED "full_ckpt_$free_k: a temporary was left" || check_passed
    [ -e "$T/full_$free_k.h5" ] && FAILED "full_ckpt_$free_k: a results file was written" || check_passed
    for f in "$D"/ck/ckpt-*.h5; do
      [ -e "$f" ] || continue
      "$PYTHON" -c 'import sys, h5py; h5py.File(sys.argv[1], "r")["model/parameters"][()]' "$f" 2>/dev/null && check_passed || FAILED "full_ckpt_$free_k: $f is damaged"
    done
    echo "     $free_k kB free: kept $(ls "$D/ck" 2>/dev/null | tr '\n' ' ')"
  done
  # free the space: the run goes on from its newest checkpoint, bit for bit
  rm -f "$D/filler"
  if engd_ranks 2 full_re $SMALL -max_it 40 -checkpoint_every 2 -checkpoint_keep 2 -checkpoint_dir "$D/ck" -restart latest &&
    engd_ranks 2 full_ref $SMALL -max_it 40; then
    compare_histories "full disk, restarted" 0 --params "$T/full_re.h5" "$T/full_ref.h5"
  fi
  umount "$D" && trap - EXIT
  # a read-only file system: the cause is named (errno read before anything else runs)
  mkdir -p "$T/ro"
  if mount -t tmpfs -o ro,size=64k engd-test-ro "$T/ro" 2>/dev/null; then
    engd_refused ro_output "cannot write '$T/ro/out.h5'.*Read-only file system" 0 $SMALL -max_it 2 -output "$T/ro/out.h5"
    engd_refused ro_ckpt "checkpoint_dir.*Read-only file system" 0 $SMALL -max_it 2 -checkpoint_every 1 -checkpoint_dir "$T/ro/ck"
    umount "$T/ro"
  fi
else echo "skip: cannot mount a tmpfs (needs root): full-disk cases"; fi

echo "== other runs' checkpoints"
engd_ranks 1 run_a $SMALL -max_it 6 -checkpoint_every 2 -checkpoint_keep 5 -checkpoint_dir "$T/shared"
sums "$T/shared" >"$T/a.sums"
engd_refused fresh_foreign 'another run' 0 $SMALL -max_it 2 -checkpoint_every 1 -checkpoint_dir "$T/shared"
engd_refused fresh_foreign_dir 'another run' 0 $SMALL -max_it 2 -checkpoint_dir "$T/shared"
sums "$T/shared" | cmp -s - "$T/a.sums" && check_passed || FAILED "a refused run changed another run's checkpoints"
# a diverging run with no checkpoint options, in a directory whose default checkpoints/ is A's
mkdir -p "$T/cwd" && cp -r "$T/shared" "$T/cwd/checkpoints"
(cd "$T/cwd" && timeout 60 "$OLDPWD/bin/engd" $(echo "$SMALL" | sed "s|configs/|$OLDPWD/configs/|") -max_it 20 -optimizer adam -adam_lr 1e300 -max_failures 3 -output "$T/div.h5" >"$T/div.out" 2>"$T/div.err")
rc=$?
[ $rc = 3 ] && check_passed || FAILED "diverging run: exit $rc, want 3"
grep -q "no checkpoints were asked for, so the results file '$T/div.h5' holds the last parameters" "$T/div.err" && check_passed || FAILED "diverging run: the error does not say where the parameters are: $(cat "$T/div.err")"
sums "$T/cwd/checkpoints" | cmp -s - "$T/a.sums" && check_passed || FAILED "a diverging run touched the checkpoints in its default directory"
# A restarted from its ckpt-2 rotates its own later files; B's file (copied in) blocks it
engd_ranks 1 run_b $SMALL -seed 1 -max_it 2 -checkpoint_every 2 -checkpoint_dir "$T/b"
cp "$T/b/ckpt-00000002.h5" "$T/shared/ckpt-00000099.h5"
engd_refused restart_foreign 'another run' 0 $SMALL -max_it 8 -checkpoint_every 2 -checkpoint_keep 5 -checkpoint_dir "$T/shared" -restart "$T/shared/ckpt-00000002.h5"
rm "$T/shared/ckpt-00000099.h5"
cp "$T/b/ckpt-00000002.h5" "$T/shared/ckpt-00000003.h5"
if engd_ranks 1 run_a_re $SMALL -max_it 8 -checkpoint_every 4 -checkpoint_keep 5 -checkpoint_dir "$T/shared" -restart "$T/shared/ckpt-00000002.h5" -checkpoint_overwrite; then
  left=$(ls "$T/shared" | tr '\n' ' ')
  [ "$left" = "ckpt-00000002.h5 ckpt-00000003.h5 ckpt-00000004.h5 ckpt-00000008.h5 " ] && check_passed || FAILED "restart rotation left '$left' (want A's 2, 4, 8 and B's 3: B was not A's to delete, A's 6 was superseded)"
fi
# two writers at once
bin/engd $SMALL -max_it 100000 -checkpoint_every 1000 -checkpoint_dir "$T/two" -output "$T/two.h5" >"$T/two_a.out" 2>&1 &
a_pid=$!
i=0; while [ ! -e "$T/two/.engd-lock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
engd_refused second_dir "another engd run is writing it .*pid $a_pid" 0 $SMALL -max_it 2 -checkpoint_every 1 -checkpoint_dir "$T/two" -restart latest
engd_refused second_output "another engd run is writing it .*pid $a_pid" 0 $SMALL -max_it 2 -output "$T/two.h5"
kill -USR1 $a_pid; wait $a_pid
rc=$?
[ $rc = 75 ] && check_passed || FAILED "two writers: the first run exited $rc at SIGUSR1, want 75"
[ -e "$T/two.h5.lock" ] && FAILED "two writers: the output's lock file was left" || check_passed

echo "== damaged checkpoints"
engd_ranks 1 dmg $SMALL -max_it 4 -checkpoint_every 2 -checkpoint_dir "$T/dmg"
check_cmd "could not make the damaged files" "$PYTHON" - "$T/dmg/ckpt-00000004.h5" "$T" <<'EOF'
import sys, shutil, h5py, numpy as np
src, T = sys.argv[1], sys.argv[2]
def flip(name, dataset, index):
    path = "%s/%s.h5" % (T, name)
    shutil.copy(src, path)
    with h5py.File(path, "r") as f:
        ds = f[dataset]
        offset = ds.id.get_chunk_info(0).byte_offset if ds.chunks else ds.id.get_offset()
    with open(path, "r+b") as g:
        g.seek(offset + index)
        b = g.read(1)
        g.seek(offset + index)
        g.write(bytes([b[0] ^ 0x10]))
flip("flip_params", "model/parameters", 8 * 7 + 3)
flip("flip_history", "history/loss", 8 * 2 + 6)
shutil.copy(src, T + "/nan_params.h5")
with h5py.File(T + "/nan_params.h5", "r+") as f:
    f["model/parameters"][5] = np.nan
EOF
engd_refused flip_params 'parameters.*checksum' 0 $SMALL -max_it 6 -checkpoint_dir "$T/dmg_re" -restart "$T/flip_params.h5"
engd_refused flip_history 'history.*checksum' 0 $SMALL -max_it 6 -checkpoint_dir "$T/dmg_re" -restart "$T/flip_history.h5"
engd_refused nan_params 'parameters\[5\] is not finite' 0 $SMALL -max_it 6 -checkpoint_dir "$T/dmg_re" -restart "$T/nan_params.h5"
cp "$T/flip_params.h5" "$T/dmg/ckpt-00000004.h5"
if engd_ranks 1 dmg_latest $SMALL -max_it 6 -checkpoint_every 2 -checkpoint_dir "$T/dmg" -restart latest; then
  grep -q "warning: -restart latest: skipping .*ckpt-00000004.h5.*checksum" "$T/dmg_latest.err" && check_passed || FAILED "dmg_latest: no warning about the damaged ckpt-4"
  grep -q "continuing from '$T/dmg/ckpt-00000002.h5'" "$T/dmg_latest.out" && check_passed || FAILED "dmg_latest: did not continue from ckpt-2"
fi

echo "== a restart with another problem or point set"
engd_ranks 1 base $SMALL -max_it 2 -checkpoint_every 2 -checkpoint_dir "$T/base"
CK="$T/base/ckpt-00000002.h5"
engd_refused other_solution "another problem.*sin_prod.*sin_sum" 0 $SMALL -max_it 4 -checkpoint_dir "$T/x1" -restart "$CK" -solution sin_sum
engd_refused other_points "another problem.*100 points.*64 points" 0 $SMALL -max_it 4 -checkpoint_dir "$T/x2" -restart "$CK" -n_interior 64
engd_refused other_sampler "sampler 'grid' in the file, 'uniform'" 0 $SMALL -max_it 4 -checkpoint_dir "$T/x3" -restart "$CK" -sampler uniform
engd_refused other_seed "seed 0 in the file, 3" 0 $SMALL -max_it 4 -checkpoint_dir "$T/x4" -restart "$CK" -seed 3
engd_ranks 1 same_problem $SMALL -max_it 5 -checkpoint_dir "$T/x5" -restart "$CK" && check_passed || FAILED "a restart with another -max_it was refused"

echo "== signals during start-up, a launcher that is gone"
# From main's first line SIGUSR1 and SIGTERM are blocked (SigBlk has bits 10 and 15, 0x4200)
# until the handlers are in place; before it (the dynamic loader) no program can catch them.
blocked() { awk '/^SigBlk:/ { print $2 }' "/proc/$1/status" 2>/dev/null | "$PYTHON" -c 'import sys; t = sys.stdin.read().strip(); sys.exit(0 if t and int(t, 16) & 0x4200 == 0x4200 else 1)'; }
for delay in 0 0.02 0.05 0.1 0.2; do
  rm -rf "$T/early"
  bin/engd $SMALL -max_it 100000 -checkpoint_dir "$T/early" >"$T/early.out" 2>&1 &
  p=$!
  i=0; while ! blocked $p && [ $i -lt 2000 ]; do i=$((i + 1)); done
  sleep $delay
  kill -USR1 $p
  wait $p
  rc=$?
  if [ $rc = 75 ] && ls "$T/early" | grep -q '^ckpt-'; then check_passed; echo "ok   SIGUSR1 after ${delay}s: exit 75, $(ls "$T/early" | grep ckpt)"
  else FAILED "SIGUSR1 after ${delay}s: exit $rc, checkpoints: $(ls "$T/early" 2>/dev/null | tr '\n' ' ')"; fi
done
scripts/mpirun.sh -n 2 bin/engd $SMALL -max_it 1000000 -checkpoint_dir "$T/orphan" >"$T/orphan.out" 2>&1 &
launcher=$!
ranks=""; i=0
while [ "$(echo $ranks | wc -w)" -lt 2 ] && [ $i -lt 100 ]; do ranks=$(pgrep -P $launcher -f bin/engd | tr '\n' ' '); sleep 0.1; i=$((i + 1)); done
sleep 0.5
kill -9 $launcher
i=0; while [ $i -lt 50 ] && for r in $ranks; do kill -0 "$r" 2>/dev/null && break; done; do sleep 0.1; i=$((i + 1)); done
alive=""; for r in $ranks; do kill -0 "$r" 2>/dev/null && alive="$alive $r"; done
if [ -n "$ranks" ] && [ -z "$alive" ]; then check_passed; echo "ok   ranks$ranks stopped within $((i / 10)).$((i % 10)) s of kill -9 of mpirun; left: $(ls "$T/orphan" 2>/dev/null | tr '\n' ' ')"
else FAILED "orphaned ranks:${alive:- none found} still running 5 s after kill -9 of mpirun"; for r in $alive; do kill -9 "$r"; done; fi

test_finish
