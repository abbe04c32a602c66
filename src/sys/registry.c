/* Type registries of the classes (include/engd/registry.h). */
#include <engd/registry.h>

PetscErrorCode EngdRegistryAdd_Private(EngdRegistry *r, const char name[], void (*create)(void))
{
  PetscFunctionBegin;
  PetscCheck(r->n < ENGD_REGISTRY_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "too many %s types (at most %d)", r->what, ENGD_REGISTRY_MAX);
  PetscCall(PetscFunctionListAdd(&r->list, name, create));
  PetscCall(PetscStrncpy(r->names[r->n++], name, sizeof(r->names[0])));
  PetscFunctionReturn(0);
}

PetscErrorCode EngdRegistryNames(const EngdRegistry *r, char text[], size_t size)
{
  const PetscInt n = r->n + (r->extra ? 1 : 0);

  PetscFunctionBegin;
  text[0] = '\0';
  for (PetscInt k = 0; k < n; k++) {
    PetscCall(PetscStrlcat(text, k == 0 ? "" : (k == n - 1 ? " or " : ", "), size));
    PetscCall(PetscStrlcat(text, k < r->n ? r->names[k] : r->extra, size));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode EngdRegistryFind_Private(EngdRegistry *r, MPI_Comm comm, const char name[], void (**create)(void))
{
  PetscFunctionBegin;
  PetscCall(PetscFunctionListFind(r->list, name, create));
  if (!*create) {
    char names[ENGD_REGISTRY_MAX * 66];
    PetscCall(EngdRegistryNames(r, names, sizeof(names)));
    SETERRQ(comm, PETSC_ERR_ARG_UNKNOWN_TYPE, "%s: unknown %s '%s' (use %s)", r->option, r->what, name, names);
  }
  PetscFunctionReturn(0);
}
