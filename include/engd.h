/* engd: energy natural gradient descent for PINNs and deep Ritz networks, over MPI.
   Umbrella header: include this one. */
#ifndef ENGD_H
#define ENGD_H

#include <engd/sys.h>
#include <engd/rng.h>
#include <engd/model.h>
#include <engd/problem.h>
#include <engd/sampler.h>
#include <engd/objective.h>
#include <engd/curvature.h>
#include <engd/linesearch.h>
#include <engd/optimizer.h>
#include <engd/history.h>
#include <engd/results.h>
#include <engd/checkpoint.h>
#include <engd/runcontrol.h>
#include <engd/trainer.h>

#endif
