/* HDF5 helpers of the results and checkpoint files (serial API, one rank), and /options. */
#include <engd/private/h5io.h>
#include <engd/private/atomicfile.h>
#include <stdlib.h>
#include <string.h>

PetscLogEvent ENGD_Output;

PetscErrorCode EngdOutputInitializePackage(void)
{
  static PetscBool initialized = PETSC_FALSE;
  PetscClassId     classid;

  PetscFunctionBegin;
  if (initialized) PetscFunctionReturn(0);
  initialized = PETSC_TRUE;
  PetscCall(PetscClassIdRegister("Output", &classid));
  PetscCall(PetscLogEventRegister("EngdOutput", classid, &ENGD_Output));
  PetscFunctionReturn(0);
}

/* A one-dimensional dataset of n values; in a checksummed file one chunk with Fletcher-32,
   which HDF5 verifies on every read. */
static int WriteArray(hid_t loc, const char *name, hsize_t n, hid_t type, const void *data)
{
  hid_t space = -1, create = H5P_DEFAULT, set = -1;
  ENGD_H5(space = H5Screate_simple(1, &n, NULL));
  if (n && EngdH5Checksummed()) {
    ENGD_H5(create = H5Pcreate(H5P_DATASET_CREATE));
    ENGD_H5(H5Pset_chunk(create, 1, &n));
    ENGD_H5(H5Pset_fletcher32(create));
  }
  ENGD_H5(set = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, create, H5P_DEFAULT));
  if (n) ENGD_H5(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  H5Dclose(set);
  if (create != H5P_DEFAULT) H5Pclose(create);
  H5Sclose(space);
  return 0;
fail:
  if (set >= 0) H5Dclose(set);
  if (create >= 0 && create != H5P_DEFAULT) H5Pclose(create);
  if (space >= 0) H5Sclose(space);
  return -1;
}

int EngdH5WriteDoubles(hid_t loc, const char *name, hsize_t n, const double *data) { return WriteArray(loc, name, n, H5T_NATIVE_DOUBLE, data); }

int EngdH5WriteInts(hid_t loc, const char *name, hsize_t n, const PetscInt *data)
{
  long long *buf = (long long *)malloc(sizeof(long long) * (n ? n : 1));
  int        status;
  if (!buf) return -1;
  for (hsize_t i = 0; i < n; i++) buf[i] = (long long)data[i];
  status = WriteArray(loc, name, n, H5T_NATIVE_LLONG, buf);
  free(buf);
  return status;
}

int EngdH5WriteAttrDouble(hid_t loc, const char *name, double value)
{
  hid_t space = -1, attr = -1;
  ENGD_H5(space = H5Screate(H5S_SCALAR));
  ENGD_H5(attr = H5Acreate2(loc, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(H5Awrite(attr, H5T_NATIVE_DOUBLE, &value));
  H5Aclose(attr);
  H5Sclose(space);
  return 0;
fail:
  if (attr >= 0) H5Aclose(attr);
  if (space >= 0) H5Sclose(space);
  return -1;
}

int EngdH5WriteAttrInt(hid_t loc, const char *name, PetscInt value)
{
  long long v     = (long long)value;
  hid_t     space = -1, attr = -1;
  ENGD_H5(space = H5Screate(H5S_SCALAR));
  ENGD_H5(attr = H5Acreate2(loc, name, H5T_NATIVE_LLONG, space, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(H5Awrite(attr, H5T_NATIVE_LLONG, &v));
  H5Aclose(attr);
  H5Sclose(space);
  return 0;
fail:
  if (attr >= 0) H5Aclose(attr);
  if (space >= 0) H5Sclose(space);
  return -1;
}

int EngdH5WriteAttrString(hid_t loc, const char *name, const char *text)
{
  hid_t space = -1, type = -1, attr = -1;
  ENGD_H5(space = H5Screate(H5S_SCALAR));
  ENGD_H5(type = H5Tcopy(H5T_C_S1));
  ENGD_H5(H5Tset_size(type, strlen(text) + 1));
  ENGD_H5(attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(H5Awrite(attr, type, text));
  H5Aclose(attr);
  H5Tclose(type);
  H5Sclose(space);
  return 0;
fail:
  if (attr >= 0) H5Aclose(attr);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  return -1;
}

int EngdH5WriteOptions(hid_t file, const char *text)
{
  hid_t group = -1;
  ENGD_H5(group = H5Gcreate2(file, "options", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(EngdH5WriteAttrString(group, "text", text));
  H5Gclose(group);
  return 0;
fail:
  if (group >= 0) H5Gclose(group);
  return -1;
}

/* A scalar attribute read into `mem_type` (HDF5 converts between numeric types). */
static int ReadScalarAttr(hid_t loc, const char *name, hid_t mem_type, void *value)
{
  hid_t attr = -1, space = -1;
  ENGD_H5(attr = H5Aopen(loc, name, H5P_DEFAULT));
  ENGD_H5(space = H5Aget_space(attr));
  if (H5Sget_simple_extent_npoints(space) != 1) goto fail;
  ENGD_H5(H5Aread(attr, mem_type, value));
  H5Sclose(space);
  H5Aclose(attr);
  return 0;
fail:
  if (space >= 0) H5Sclose(space);
  if (attr >= 0) H5Aclose(attr);
  return -1;
}

int EngdH5ReadAttrInt(hid_t loc, const char *name, PetscInt *value)
{
  long long v;
  if (ReadScalarAttr(loc, name, H5T_NATIVE_LLONG, &v) < 0 || v < PETSC_MIN_INT || v > PETSC_MAX_INT) return -1;
  *value = (PetscInt)v;
  return 0;
}

int EngdH5ReadAttrDouble(hid_t loc, const char *name, double *value) { return ReadScalarAttr(loc, name, H5T_NATIVE_DOUBLE, value); }

int EngdH5ReadAttrString(hid_t loc, const char *name, char *text, size_t size)
{
  hid_t attr = -1, type = -1, mem = -1;
  ENGD_H5(attr = H5Aopen(loc, name, H5P_DEFAULT));
  ENGD_H5(type = H5Aget_type(attr));
  if (H5Tget_class(type) != H5T_STRING) goto fail;
  ENGD_H5(mem = H5Tcopy(H5T_C_S1));
  if (H5Tis_variable_str(type) > 0) { /* written by h5py, for example */
    char *value = NULL;
    ENGD_H5(H5Tset_size(mem, H5T_VARIABLE));
    ENGD_H5(H5Aread(attr, mem, &value));
    if (!value || strlen(value) >= size) {
      free(value);
      goto fail;
    }
    strcpy(text, value);
    free(value);
  } else {
    const size_t n = H5Tget_size(type);
    if (n == 0 || n >= size) goto fail;
    ENGD_H5(H5Tset_size(mem, n + 1));
    ENGD_H5(H5Aread(attr, mem, text));
    text[n] = '\0';
  }
  H5Tclose(mem);
  H5Tclose(type);
  H5Aclose(attr);
  return 0;
fail:
  if (mem >= 0) H5Tclose(mem);
  if (type >= 0) H5Tclose(type);
  if (attr >= 0) H5Aclose(attr);
  return -1;
}

int EngdH5DatasetLength(hid_t loc, const char *name, hsize_t *n)
{
  hid_t set = -1, space = -1;
  ENGD_H5(set = H5Dopen2(loc, name, H5P_DEFAULT));
  ENGD_H5(space = H5Dget_space(set));
  if (H5Sget_simple_extent_ndims(space) != 1) goto fail;
  ENGD_H5(H5Sget_simple_extent_dims(space, n, NULL));
  H5Sclose(space);
  H5Dclose(set);
  return 0;
fail:
  if (space >= 0) H5Sclose(space);
  if (set >= 0) H5Dclose(set);
  return -1;
}

static int ReadArray(hid_t loc, const char *name, hsize_t n, hid_t mem_type, void *data)
{
  hsize_t length;
  hid_t   set = -1;
  if (EngdH5DatasetLength(loc, name, &length) < 0 || length != n) return -1;
  ENGD_H5(set = H5Dopen2(loc, name, H5P_DEFAULT));
  if (n) ENGD_H5(H5Dread(set, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  H5Dclose(set);
  return 0;
fail:
  if (set >= 0) H5Dclose(set);
  return -1;
}

int EngdH5ReadDoubles(hid_t loc, const char *name, hsize_t n, double *data) { return ReadArray(loc, name, n, H5T_NATIVE_DOUBLE, data); }

int EngdH5ReadInts(hid_t loc, const char *name, hsize_t n, PetscInt *data)
{
  long long *buf = (long long *)malloc(sizeof(long long) * (n ? n : 1));
  int        status;
  if (!buf) return -1;
  status = ReadArray(loc, name, n, H5T_NATIVE_LLONG, buf);
  for (hsize_t i = 0; status == 0 && i < n; i++) {
    if (buf[i] < PETSC_MIN_INT || buf[i] > PETSC_MAX_INT) status = -1; /* would wrap */
    else data[i] = (PetscInt)buf[i];
  }
  free(buf);
  return status;
}

PetscErrorCode EngdOptionsText(char **text)
{
  char *options;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetAll(NULL, &options));
  for (char *o = options; *o; o++) /* one option per line: split at " -<letter>" */
    if (o[0] == ' ' && o[1] == '-' && ((o[2] >= 'a' && o[2] <= 'z') || (o[2] >= 'A' && o[2] <= 'Z'))) o[0] = '\n';
  *text = options;
  PetscFunctionReturn(0);
}
