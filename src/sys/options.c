/* Strict option readers (include/engd/options.h): check the raw text of an option, then let
   PETSc read it. PETSc 3.18 ignores an option without a value (PetscOptionsGetInt leaves the
   default when the value is NULL), truncates an integer to 32 bits (strtol into a long, then a
   cast), accepts inf and nan as reals and reports bad text without naming the option. */
#include <engd/options.h>
#include <engd/sys.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* "-" + prefix + name without its dash: the option as the user wrote it. */
static PetscErrorCode FullName(const char pre[], const char opt[], char name[], size_t len)
{
  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(name, len, "-%s%s", pre ? pre : "", opt[0] == '-' ? opt + 1 : opt));
  PetscFunctionReturn(0);
}

static PetscErrorCode FindValue(PetscOptions options, const char pre[], const char opt[], const char **value, PetscBool *found)
{
  PetscFunctionBegin;
  PetscCall(PetscOptionsFindPair(options, pre, opt, value, found));
  if (!*found) *value = NULL;
  PetscFunctionReturn(0);
}

/* PETSc's words for PETSC_DEFAULT and PETSC_DECIDE (PetscOptionsStringToInt/Real): left to it. */
static PetscErrorCode IsSpecialWord(const char value[], PetscBool integer, PetscBool *special)
{
  const char *words[] = {"PETSC_DEFAULT", "DEFAULT", "PETSC_DECIDE", "DECIDE", "mouse"};
  const int   n_words = integer ? 5 : 4;

  PetscFunctionBegin;
  *special = PETSC_FALSE;
  for (int w = 0; w < n_words && !*special; w++) PetscCall(PetscStrcasecmp(value, words[w], special));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckHasValue(MPI_Comm comm, const char name[], const char *value, size_t len)
{
  PetscFunctionBegin;
  PetscCheck(value && value[0], comm, PETSC_ERR_ARG_WRONG, "%s needs a value", name);
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckInt(MPI_Comm comm, const char name[], const char *value, size_t len)
{
  PetscBool special;
  char     *end;
  long long v;

  PetscFunctionBegin;
  PetscCall(CheckHasValue(comm, name, value, len));
  PetscCall(IsSpecialWord(value, PETSC_TRUE, &special));
  if (special) PetscFunctionReturn(0);
  errno = 0;
  v     = strtoll(value, &end, 10);
  PetscCheck(end != value && *end == '\0', comm, PETSC_ERR_ARG_WRONG, "%s: '%s' is not an integer", name, value);
  PetscCheck(errno != ERANGE && v <= PETSC_MAX_INT, comm, PETSC_ERR_ARG_OUTOFRANGE, "%s: %s is out of range (at most %" PetscInt_FMT ")", name, value, (PetscInt)PETSC_MAX_INT);
  PetscCheck(v >= PETSC_MIN_INT, comm, PETSC_ERR_ARG_OUTOFRANGE, "%s: %s is out of range (at least %" PetscInt_FMT ")", name, value, (PetscInt)PETSC_MIN_INT);
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckReal(MPI_Comm comm, const char name[], const char *value, size_t len)
{
  PetscBool special;
  char     *end;
  double    v;

  PetscFunctionBegin;
  PetscCall(CheckHasValue(comm, name, value, len));
  PetscCall(IsSpecialWord(value, PETSC_FALSE, &special));
  if (special) PetscFunctionReturn(0);
  v = strtod(value, &end);
  PetscCheck(end != value && *end == '\0', comm, PETSC_ERR_ARG_WRONG, "%s: '%s' is not a number", name, value);
  PetscCheck(isfinite(v), comm, PETSC_ERR_ARG_OUTOFRANGE, "%s: '%s' is not a finite number", name, value);
  PetscFunctionReturn(0);
}

/* PetscOptionsStringToBool's words; a bare flag (no value) means true. */
static PetscErrorCode CheckBool(MPI_Comm comm, const char name[], const char *value, size_t len)
{
  const char *words[] = {"TRUE", "YES", "1", "on", "FALSE", "NO", "0", "off"};
  PetscBool   known   = PETSC_FALSE;

  PetscFunctionBegin;
  if (!value || !value[0]) PetscFunctionReturn(0);
  for (size_t w = 0; w < PETSC_STATIC_ARRAY_LENGTH(words) && !known; w++) PetscCall(PetscStrcasecmp(value, words[w], &known));
  PetscCheck(known, comm, PETSC_ERR_ARG_WRONG, "%s: '%s' is not true or false (true, false, yes, no, on, off, 1 or 0)", name, value);
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckString(MPI_Comm comm, const char name[], const char *value, size_t len)
{
  size_t n;

  PetscFunctionBegin;
  PetscCall(CheckHasValue(comm, name, value, len));
  PetscCall(PetscStrlen(value, &n));
  PetscCheck(n < len, comm, PETSC_ERR_ARG_OUTOFRANGE, "%s: the value is too long (%zu characters, at most %zu)", name, n, len - 1);
  PetscFunctionReturn(0);
}

/* The kind of check an option's raw text gets (len: the buffer of a string value). */
typedef PetscErrorCode (*ValueCheck)(MPI_Comm, const char name[], const char *value, size_t len);

/* Check the raw value of an option of a PetscOptionsBegin() block, if it was given. */
static PetscErrorCode CheckItem(PetscOptionItems *items, const char opt[], ValueCheck check, size_t len)
{
  char        name[256];
  const char *raw;
  PetscBool   found;

  PetscFunctionBegin;
  PetscCall(FullName(items->prefix, opt, name, sizeof(name)));
  PetscCall(FindValue(items->options, items->prefix, opt, &raw, &found));
  if (found) PetscCall(check(items->comm, name, raw, len));
  PetscFunctionReturn(0);
}

PetscErrorCode EngdOptionsInt_Private(PetscOptionItems *PetscOptionsObject, const char opt[], const char text[], const char man[], PetscInt current, PetscInt *value, PetscBool *set)
{
  PetscFunctionBegin;
  PetscCall(CheckItem(PetscOptionsObject, opt, CheckInt, 0));
  PetscCall(PetscOptionsInt_Private(PetscOptionsObject, opt, text, man, current, value, set, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscFunctionReturn(0);
}

PetscErrorCode EngdOptionsReal_Private(PetscOptionItems *PetscOptionsObject, const char opt[], const char text[], const char man[], PetscReal current, PetscReal *value, PetscBool *set)
{
  PetscFunctionBegin;
  PetscCall(CheckItem(PetscOptionsObject, opt, CheckReal, 0));
  PetscCall(PetscOptionsReal_Private(PetscOptionsObject, opt, text, man, current, value, set));
  PetscFunctionReturn(0);
}

PetscErrorCode EngdOptionsBool_Private(PetscOptionItems *PetscOptionsObject, const char opt[], const char text[], const char man[], PetscBool current, PetscBool *value, PetscBool *set)
{
  PetscFunctionBegin;
  PetscCall(CheckItem(PetscOptionsObject, opt, CheckBool, 0));
  PetscCall(PetscOptionsBool_Private(PetscOptionsObject, opt, text, man, current, value, set));
  PetscFunctionReturn(0);
}

PetscErrorCode EngdOptionsString_Private(PetscOptionItems *PetscOptionsObject, const char opt[], const char text[], const char man[], const char current[], char value[], size_t len, PetscBool *set)
{
  PetscFunctionBegin;
  PetscCall(CheckItem(PetscOptionsObject, opt, CheckString, len));
  PetscCall(PetscOptionsString_Private(PetscOptionsObject, opt, text, man, current, value, len, set));
  PetscFunctionReturn(0);
}

PetscErrorCode EngdOptionsEList_Private(PetscOptionItems *PetscOptionsObject, const char opt[], const char text[], const char man[], const char *const *list, PetscInt ntext, const char current[], PetscInt *value, PetscBool *set)
{
  PetscFunctionBegin;
  PetscCall(CheckItem(PetscOptionsObject, opt, CheckHasValue, 0));
  PetscCall(PetscOptionsEList_Private(PetscOptionsObject, opt, text, man, list, ntext, current, value, set));
  PetscFunctionReturn(0);
}

PetscErrorCode EngdOptionsFList_Private(PetscOptionItems *PetscOptionsObject, const char opt[], const char text[], const char man[], PetscFunctionList list, const char current[], char value[], size_t len, PetscBool *set)
{
  PetscFunctionBegin;
  PetscCall(CheckItem(PetscOptionsObject, opt, CheckString, len));
  PetscCall(PetscOptionsFList_Private(PetscOptionsObject, opt, text, man, list, current, value, len, set));
  PetscFunctionReturn(0);
}

PetscErrorCode EngdOptionsGetInt(MPI_Comm comm, const char pre[], const char opt[], PetscInt *value, PetscBool *set)
{
  char        name[256];
  const char *raw;
  PetscBool   found;

  PetscFunctionBegin;
  PetscCall(FullName(pre, opt, name, sizeof(name)));
  PetscCall(FindValue(NULL, pre, opt, &raw, &found));
  if (found) PetscCall(CheckInt(comm, name, raw, 0));
  PetscCall(PetscOptionsGetInt(NULL, pre, opt, value, set));
  PetscFunctionReturn(0);
}
