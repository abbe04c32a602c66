# engd: build the library build/libengd.a and the driver bin/engd.
#   make            build            make run     default job (2-D Poisson, ENGD, 2 ranks)
#   make check      all tests        make bench   benchmarks      make V=1   verbose
#   make figures RESULTS=dir   plots and tables of the results files in dir (into dir/figures)
# Cluster builds: PETSC_DIR/PETSC_ARCH point at a PETSc install (its lib/pkgconfig/PETSc.pc);
# HDF5_PC, SCALAPACK_PC and SLEPC_PC name the pkg-config modules of parallel HDF5, ScaLAPACK
# and SLEPc (the Hessian's extreme eigenvalues by Lanczos).

PETSC_DIR    ?= /usr/lib/petsc
PETSC_ARCH   ?=
HDF5_PC      ?= hdf5-openmpi
SCALAPACK_PC ?= scalapack-openmpi
SLEPC_PC     ?= slepc
PETSC_PCDIR  := $(if $(PETSC_ARCH),$(PETSC_DIR)/$(PETSC_ARCH)/lib/pkgconfig,$(PETSC_DIR)/lib/pkgconfig)
PKG          := PKG_CONFIG_PATH=$(PETSC_PCDIR):$$PKG_CONFIG_PATH pkg-config
PKG_MODULES  := PETSc $(HDF5_PC) $(SCALAPACK_PC) $(SLEPC_PC)

CC       := mpicc
OPTFLAGS ?= -O3 -march=native
WERROR   ?= $(if $(CI),-Werror,)
CFLAGS   ?= $(OPTFLAGS) -g -std=c17 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wno-unused-parameter $(WERROR)
# The vector tanh comes from glibc's libmvec, which GCC only calls under -ffast-math; that
# flag is confined to the one file that holds nothing but the element-wise activation loops.
VECMATH_FLAGS ?= -ffast-math -fopenmp-simd
DEPS_OK   = $(shell $(PKG) --exists $(PKG_MODULES) && echo yes)
PKG_CFLAGS = $(shell $(PKG) --cflags $(PKG_MODULES))
PKG_LIBS   = $(shell $(PKG) --libs $(PKG_MODULES))
CPPFLAGS += -Iinclude $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -llapack -lblas -lmvec -lm
PYTHON   ?= $(shell scripts/find-python.sh)
NP       ?= 2
RESULTS  ?= results

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC  := $(sort $(wildcard src/*/*.c))
LIB_SRC  := $(filter-out src/app/%,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:src/%.c=build/%.o)
APP_OBJ  := $(patsubst src/%.c,build/%.o,$(sort $(wildcard src/app/*.c)))
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=build/tests/%)
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=build/bench/%)

.PHONY: all deps run check bench figures clean
all: bin/engd $(TEST_BIN) $(BENCH_BIN)

deps:
	@scripts/install-deps.sh

build/%.o: src/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

build/model/activation.o: src/model/activation.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $< (vector math)")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(VECMATH_FLAGS) -MMD -MP -c $< -o $@

# Rebuilt from scratch: `ar r` would keep the member of a source file that has been removed.
build/libengd.a: $(LIB_OBJ)
	@$(if $(Q),echo "  AR    $@")
	$(Q)rm -f $@ && ar rcs $@ $^

bin/engd: $(APP_OBJ) build/libengd.a
	@mkdir -p bin
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(CFLAGS) $(APP_OBJ) build/libengd.a $(LDLIBS) -o $@

build/tests/%: tests/%.c build/libengd.a tests/testing.h
	@mkdir -p build/tests
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $< build/libengd.a $(LDLIBS) -o $@

build/bench/%: bench/%.c build/libengd.a
	@mkdir -p build/bench
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $< build/libengd.a $(LDLIBS) -o $@

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p results
	scripts/mpirun.sh -n $(NP) bin/engd -options_file configs/poisson2d.opts -output results/default.h5
	$(PYTHON) postprocess/plot_history.py -o results/default-history.png results/default.h5
	$(PYTHON) postprocess/plot_solution.py -o results/default-solution.png results/default.h5

check: deps
	@$(MAKE) --no-print-directory all
	@PYTHON=$(PYTHON) tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	bench/run.sh

figures: deps
	$(PYTHON) postprocess/figures.py $(RESULTS)

clean:
	rm -rf build bin

-include $(LIB_OBJ:.o=.d) $(APP_OBJ:.o=.d)
