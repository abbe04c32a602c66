#!/bin/sh
# mpirun with the settings these machines need: root is allowed, more ranks than cores
# oversubscribe, and one BLAS thread per rank (engd enforces that itself too).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
exec mpirun --oversubscribe "$@"
