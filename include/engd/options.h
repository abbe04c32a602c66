/* Options read strictly: drop-in replacements of PetscOptionsInt/Real/Bool/String/EList/FList
   for use between PetscOptionsBegin() and PetscOptionsEnd() (they take PetscOptionsObject from
   there, as PETSc's macros do). Each one refuses, with a sentence naming the option, what PETSc
   would silently ignore or garble: an option given without a value ("-max_it needs a value"),
   text that is not a number ("-max_it: 'abc' is not an integer"), an integer beyond PetscInt
   ("-max_it: 4294967297 is out of range (at most 2147483647)"), a non-finite real ("inf",
   "nan"), a logical other than PETSc's words ("-quiet: 'maybe' is not true or false") and a
   string longer than its buffer. Every value that passes is then read by PETSc's own function,
   so valid input parses exactly as before and -help lists every option. */
#ifndef ENGD_OPTIONS_H
#define ENGD_OPTIONS_H

#include <petscsys.h>

PetscErrorCode EngdOptionsInt_Private(PetscOptionItems *, const char opt[], const char text[], const char man[], PetscInt current, PetscInt *value, PetscBool *set);
PetscErrorCode EngdOptionsReal_Private(PetscOptionItems *, const char opt[], const char text[], const char man[], PetscReal current, PetscReal *value, PetscBool *set);
PetscErrorCode EngdOptionsBool_Private(PetscOptionItems *, const char opt[], const char text[], const char man[], PetscBool current, PetscBool *value, PetscBool *set);
PetscErrorCode EngdOptionsString_Private(PetscOptionItems *, const char opt[], const char text[], const char man[], const char current[], char value[], size_t len, PetscBool *set);
PetscErrorCode EngdOptionsEList_Private(PetscOptionItems *, const char opt[], const char text[], const char man[], const char *const *list, PetscInt ntext, const char current[], PetscInt *value, PetscBool *set);
PetscErrorCode EngdOptionsFList_Private(PetscOptionItems *, const char opt[], const char text[], const char man[], PetscFunctionList list, const char current[], char value[], size_t len, PetscBool *set);

#define EngdOptionsInt(a, b, c, d, e, f)            EngdOptionsInt_Private(PetscOptionsObject, a, b, c, d, e, f)
#define EngdOptionsReal(a, b, c, d, e, f)           EngdOptionsReal_Private(PetscOptionsObject, a, b, c, d, e, f)
#define EngdOptionsBool(a, b, c, d, e, f)           EngdOptionsBool_Private(PetscOptionsObject, a, b, c, d, e, f)
#define EngdOptionsString(a, b, c, d, e, f, g)      EngdOptionsString_Private(PetscOptionsObject, a, b, c, d, e, f, g)
#define EngdOptionsEList(a, b, c, d, e, f, g, h)    EngdOptionsEList_Private(PetscOptionsObject, a, b, c, d, e, f, g, h)
#define EngdOptionsFList(a, b, c, d, e, f, g, h)    EngdOptionsFList_Private(PetscOptionsObject, a, b, c, d, e, f, g, h)

/* PetscOptionsGetInt() with the same checks, for reads outside a PetscOptionsBegin() block. */
PetscErrorCode EngdOptionsGetInt(MPI_Comm, const char pre[], const char name[], PetscInt *value, PetscBool *set);

#endif
