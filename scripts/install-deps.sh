#!/bin/sh
# Make sure the Debian packages engd builds and runs with are present.
# As root, missing packages are installed with apt-get; otherwise the exact command is printed.
# OPTIONAL packages (slurm-wlm, munge: tests/test_slurm.sh starts a private one-node Slurm, and
# skips without them) are installed as root too, but their absence alone is no error.
PACKAGES="make gcc pkg-config openmpi-bin libopenmpi-dev petsc-dev libscalapack-openmpi-dev \
libhdf5-openmpi-dev slepc-dev libopenblas-dev python3-numpy python3-h5py python3-matplotlib"
OPTIONAL="slurm-wlm munge"
missing=""
missing_optional=""
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in $PACKAGES; do installed "$p" || missing="$missing $p"; done
for p in $OPTIONAL; do installed "$p" || missing_optional="$missing_optional $p"; done
if [ "$(id -u)" = 0 ]; then
  all="$missing$missing_optional"
  [ -z "$all" ] && exit 0
  echo "engd: installing missing packages:$all"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $all >/dev/null \
    || { echo "engd: apt-get install failed for:$all" >&2; [ -z "$missing" ]; exit $?; }
else
  [ -z "$missing" ] && exit 0
  echo "engd: missing packages:$missing" >&2
  echo "engd: install them with:  sudo apt-get update && sudo apt-get install -y$missing$missing_optional" >&2
  exit 1
fi
