#!/bin/sh
# Make sure the Debian packages engd builds and runs with are present (slurm-wlm and munge: for
# tests/test_slurm.sh, which starts a private one-node Slurm).
# As root, missing packages are installed with apt-get; otherwise the exact command is printed.
PACKAGES="make gcc pkg-config openmpi-bin libopenmpi-dev petsc-dev libscalapack-openmpi-dev \
libhdf5-openmpi-dev libopenblas-dev python3-numpy python3-h5py python3-matplotlib slurm-wlm munge"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "engd: installing missing packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null \
    || { echo "engd: apt-get install failed for:$missing" >&2; exit 1; }
else
  echo "engd: missing packages:$missing" >&2
  echo "engd: install them with:  sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
