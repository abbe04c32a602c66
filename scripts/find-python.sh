#!/bin/sh
# Print a Python interpreter that can import numpy, h5py and matplotlib (Debian's first).
for py in /usr/bin/python3 python3 python; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import numpy, h5py, matplotlib' >/dev/null 2>&1; then
    command -v "$py"; exit 0
  fi
done
echo /usr/bin/python3
