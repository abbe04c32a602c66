/* A registry of the types of one class (Problem, Optimizer, Gram, ...): names and constructors
   in the order registered, and the list of valid names that error messages and -help show. A
   class keeps one static EngdRegistry, fills it once (its RegisterAll) and finds constructors
   by name; the type names are macros in the class's header (OPTIMIZERENGD "engd", ...). */
#ifndef ENGD_REGISTRY_H
#define ENGD_REGISTRY_H

#include <petscsys.h>

#define ENGD_REGISTRY_MAX 32

typedef struct {
  const char       *option; /* the option that chooses the type, e.g. "-optimizer" */
  const char       *what;   /* what a type is called in messages, e.g. "optimizer" */
  const char       *extra;  /* a valid name that is not a registered type (Gram's "auto"), or NULL */
  PetscFunctionList list;
  PetscInt          n;
  char              names[ENGD_REGISTRY_MAX][64];
} EngdRegistry;

#define ENGD_REGISTRY(option, what, extra) {option, what, extra, NULL, 0, {{0}}}

PetscErrorCode EngdRegistryAdd_Private(EngdRegistry *, const char name[], void (*create)(void));
PetscErrorCode EngdRegistryFind_Private(EngdRegistry *, MPI_Comm, const char name[], void (**create)(void));
/* Register create (any constructor type) under name. */
#define EngdRegistryAdd(registry, name, create) EngdRegistryAdd_Private(registry, name, (void (*)(void))(create))
/* The constructor of name, or the error "<option>: unknown <what> 'name' (use a, b or c)". */
#define EngdRegistryFind(registry, comm, name, create) EngdRegistryFind_Private(registry, comm, name, (void (**)(void))(create))
/* Whether the registry has been filled. */
static inline PetscBool EngdRegistryFilled(const EngdRegistry *r) { return r->n > 0 ? PETSC_TRUE : PETSC_FALSE; }
/* "a, b or c": the registered names (and the extra one), for messages. */
PetscErrorCode EngdRegistryNames(const EngdRegistry *, char text[], size_t size);

#endif
