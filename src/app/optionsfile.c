/* The options files of a run, checked before PetscInitialize(). PETSc 3.18 reads an options
   file (PetscOptionsInsertFilePetsc in src/sys/objects/options.c) line by line: it cuts each
   line at '#', turns tabs and CR into blanks, splits it at blanks (a token that starts with a
   double quote runs to the next one) and accepts nothing but
     (nothing)             a blank or comment line
     -name                 a flag
     -name value           an option and its value (value is not itself an option name)
     alias -name -other
   Anything else makes PetscInitialize() fail with a multi-line banner and exit 62 or 83; a
   NUL byte silently cuts the rest of its line. A "-options_file name" line is read in turn
   (PetscOptionsInsertString), relative to the working directory. This file repeats those
   rules and reports the first breach in one sentence. It runs before MPI and PETSc are up:
   plain C, no PETSc calls. */
#include "optionsfile.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_DEPTH 16 /* nested options files: deeper means a file names itself */

/* PetscOptionsValidKey: "-" (or "--") then a letter, and not a number such as -1e3 or -inf. */
static int ValidKey(const char *key)
{
  char *end;

  if (!key || key[0] != '-') return 0;
  if (key[1] == '-') key++;
  if (!isalpha((unsigned char)key[1])) return 0;
  (void)strtod(key, &end);
  if (end != key && !(*end == '_' || isalnum((unsigned char)*end))) return 0;
  return 1;
}

/* PetscTokenFind with a blank separator: the next token of *current (cut in place), or NULL. */
static char *NextToken(char **current)
{
  char *ptr = *current, *token = ptr, separator = ' ';

  if (!ptr || !*ptr) return NULL;
  if (*ptr == '"') {
    separator = '"';
    token++;
    ptr++;
  }
  for (;;) {
    if (*ptr == separator) {
      *ptr++ = 0;
      while (*ptr == ' ') ptr++;
      *current = ptr;
      break;
    }
    if (!*ptr) {
      *current = NULL;
      break;
    }
    ptr++;
  }
  return token;
}

static int Fail(char message[], size_t len, const char *format, ...)
{
  va_list args;

  va_start(args, format);
  vsnprintf(message, len, format, args);
  va_end(args);
  return -1;
}

/* PETSc reads names ending in .yaml, .yml, .json or :yaml, or files that start with "%YAML " or
   "---", as YAML: their content is PETSc's to judge. */
static int IsYAML(const char *name, const char *head)
{
  size_t n = strlen(name);
  const char *ends[] = {".yaml", ".yml", ".json", ":yaml"};

  for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++)
    if (n >= strlen(ends[e]) && !strcmp(name + n - strlen(ends[e]), ends[e])) return 1;
  return head && (!strncmp(head, "%YAML ", 6) || !strncmp(head, "---", 3));
}

static int CheckFile(const char *name, const char *origin, int depth, char message[], size_t len);

/* One line of file "where" (already without its comment, blanks for tabs and CR). */
static int CheckLine(char *text, const char *file, int line, int depth, char message[], size_t len)
{
  char where[512];
  char  shown[256], *current = text, *tokens[4] = {NULL, NULL, NULL, NULL};
  char *start = text;

  snprintf(where, sizeof(where), "-options_file '%.400s'", file);
  while (*start == ' ') start++;
  snprintf(shown, sizeof(shown), "%s", start);
  for (size_t n = strlen(shown); n > 0 && shown[n - 1] == ' '; n--) shown[n - 1] = 0;
  tokens[0] = NextToken(&current);
  if (tokens[0] && !tokens[0][0]) tokens[0] = NextToken(&current); /* the line began with blanks */
  if (!tokens[0]) return 0;
  for (int t = 1; t < 4; t++) tokens[t] = NextToken(&current);
  if (tokens[0][0] == '-') {
    if (!ValidKey(tokens[0])) return Fail(message, len, "%s line %d: '%s' is not an option name (a letter must follow the '-')", where, line, tokens[0]);
    if (tokens[1] && ValidKey(tokens[1])) return Fail(message, len, "%s line %d: two options on one line ('%s'); write one option per line", where, line, shown);
    if (tokens[2]) {
      for (int t = 2; t < 4; t++)
        if (tokens[t] && ValidKey(tokens[t])) return Fail(message, len, "%s line %d: two options on one line ('%s'); write one option per line", where, line, shown);
      return Fail(message, len, "%s line %d: '%s' follows the value of %s; a value with blanks needs double quotes", where, line, tokens[2], tokens[0]);
    }
    if (!strcasecmp(tokens[0], "-options_file")) {
      char nested[1024];
      if (!tokens[1] || !tokens[1][0]) return Fail(message, len, "%s line %d: -options_file needs a file name", where, line);
      if (depth + 1 >= MAX_DEPTH) return Fail(message, len, "%s line %d: options files nested more than %d deep (does one name itself?)", where, line, MAX_DEPTH);
      snprintf(nested, sizeof(nested), "-options_file '%.400s' (named in '%.400s' line %d)", tokens[1], file, line);
      return CheckFile(tokens[1], nested, depth + 1, message, len);
    }
    return 0;
  }
  if (!strcasecmp(tokens[0], "alias")) {
    if (!ValidKey(tokens[1]) || !ValidKey(tokens[2]) || tokens[3]) return Fail(message, len, "%s line %d: an alias line reads 'alias -new_name -existing_name', not '%s'", where, line, shown);
    return 0;
  }
  return Fail(message, len, "%s line %d: '%s' is not an option; each line holds one '-option value', a '-flag', a # comment or nothing", where, line, tokens[0]);
}

/* File "name"; "origin" describes it in messages about the file as a whole (its -options_file
   and, when nested, the file and line that named it); messages about a line name the file only. */
static int CheckFile(const char *name, const char *origin, int depth, char message[], size_t len)
{
  struct stat info;
  FILE       *file;
  char       *buffer = NULL, head[8] = "";
  size_t      capacity = 0;
  ssize_t     n;
  int         line = 0, status = 0;

  if (strstr(name, "${")) return 0; /* PETSc substitutes ${PETSC_DIR} and the like: its file */
  if (IsYAML(name, NULL)) return 0;
  if (stat(name, &info) == 0 && S_ISDIR(info.st_mode)) return Fail(message, len, "%s: is a directory, not an options file", origin);
  file = fopen(name, "r");
  if (!file) return Fail(message, len, "%s: cannot read it: %s", origin, strerror(errno));
  if (fread(head, 1, sizeof(head) - 1, file) > 0 && IsYAML(name, head)) {
    fclose(file);
    return 0;
  }
  rewind(file);
  while (status == 0 && (n = getline(&buffer, &capacity, file)) >= 0) {
    char *comment;

    line++;
    if (memchr(buffer, '\0', (size_t)n)) {
      status = Fail(message, len, "-options_file '%s' line %d: binary content (a NUL byte); an options file is text, one option per line", name, line);
      break;
    }
    if ((comment = strchr(buffer, '#'))) *comment = 0;
    for (char *c = buffer; *c; c++) {
      if (*c == '\t' || *c == '\r' || *c == '\n') *c = ' ';
      else if ((unsigned char)*c < 0x20 || *c == 0x7f) {
        status = Fail(message, len, "-options_file '%s' line %d: binary content (byte 0x%02x); an options file is text, one option per line", name, line, (unsigned)(unsigned char)*c);
        break;
      }
    }
    if (status == 0) status = CheckLine(buffer, name, line, depth, message, len);
  }
  free(buffer);
  fclose(file);
  return status;
}

int EngdOptionsFilesCheck(int argc, char **argv, char message[], size_t len)
{
  for (int i = 1; i < argc; i++) {
    char where[512];

    if (strcasecmp(argv[i], "-options_file")) continue;
    if (i + 1 >= argc || argv[i + 1][0] == '-' || !argv[i + 1][0]) return Fail(message, len, "-options_file needs a file name");
    snprintf(where, sizeof(where), "-options_file '%s'", argv[i + 1]);
    if (CheckFile(argv[i + 1], where, 0, message, len)) return -1;
    i++;
  }
  return 0;
}
