/* Counter-based random numbers: every draw is a pure function of (seed, stream, counter), so a
   point set or an initialisation never depends on how the work is split across ranks. */
#ifndef ENGD_RNG_H
#define ENGD_RNG_H

#include <stdint.h>

/* A uniform double in [0, 1) from the key (seed, stream, counter). */
double RngUniform(uint64_t seed, uint64_t stream, uint64_t counter);

#endif
