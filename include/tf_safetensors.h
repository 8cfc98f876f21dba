// tf_safetensors.h — reading and writing safetensors files (the Hugging Face weight format).
//
// File layout: an 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {...}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
// then the data buffer; offsets are relative to the buffer's start. Files are mmapped read-only and
// validated strictly on open: the header fits in the file, every tensor lies inside the buffer, its
// byte length equals numel * dtype size, no two tensors overlap, names are unique. Every error
// message names the file and, where there is one, the tensor.
//
// Data is little-endian; this library assumes a little-endian host (x86-64, aarch64).
#ifndef TF_SAFETENSORS_H
#define TF_SAFETENSORS_H

#include "tf_common.h"
#include "tf_kernels.h"  // the scalar conversions of F16 / BF16 elements

// Dtypes of the safetensors specification. All can be listed; tf_st_to_f32 converts the
// floating-point ones (F32, F16, BF16, F64).
typedef enum {
    TF_ST_F32 = 0, TF_ST_F16, TF_ST_BF16, TF_ST_F64,
    TF_ST_I64, TF_ST_I32, TF_ST_I16, TF_ST_I8, TF_ST_U64, TF_ST_U32, TF_ST_U16, TF_ST_U8,
    TF_ST_BOOL, TF_ST_F8_E4M3, TF_ST_F8_E5M2,
    TF_ST_NUM_DTYPES
} tf_st_dtype;

#define TF_ST_MAX_DIMS 8

typedef struct {
    const char *name;          // owned by the file
    tf_st_dtype dtype;
    int ndim;                  // 0 for a scalar
    int64_t shape[TF_ST_MAX_DIMS];
    size_t numel;              // product of shape (1 for a scalar)
    size_t nbytes;             // numel * tf_st_dtype_size(dtype)
    const void *data;          // inside the read-only mapping; not necessarily aligned (memcpy it)
} tf_st_tensor;

typedef struct tf_st_file tf_st_file;

// How tf_st_open holds a file's bytes (process-wide; TF_ST_MAP unless set): mapped read-only
// (TF_ST_MAP: the page cache's own pages, shared with other processes and reclaimable under memory
// pressure), or read into memory of the process's own (TF_ST_COPY: the same bytes, not reclaimable;
// refused when the file is bigger than the memory available). On the VMs this project measures on,
// weights in the page cache stream at 20-33 GB/s where the same bytes in anonymous memory stream at
// 38-49, so weight-bound work (decoding) runs ~1.5x faster copied (docs/large-models.md).
typedef enum { TF_ST_MAP = 0, TF_ST_COPY = 1 } tf_st_residency;
void tf_st_set_residency(tf_st_residency r);
// Maps (or reads, see tf_st_set_residency) and validates path. NULL with err set (TF_EIO: cannot
// open/map/read; TF_ENOMEM: too big to copy; TF_EBADFILE: malformed).
tf_st_file *tf_st_open(const char *path, tf_error *err);
// The same validation over a safetensors file already in memory (data[size], e.g. received or
// embedded); name stands for the path in messages and tf_st_path (NULL: "<memory>"). The tensors
// point into data, which the caller keeps alive and unchanged until tf_st_close.
tf_st_file *tf_st_open_memory(const void *data, size_t size, const char *name, tf_error *err);
void tf_st_close(tf_st_file *f);
const char *tf_st_path(const tf_st_file *f);
// Tensors in the order of their data offsets.
int tf_st_count(const tf_st_file *f);
const tf_st_tensor *tf_st_at(const tf_st_file *f, int i);
// The tensor called name, or NULL.
const tf_st_tensor *tf_st_find(const tf_st_file *f, const char *name);
// A string value of the header's __metadata__ object, or NULL.
const char *tf_st_metadata(const tf_st_file *f, const char *key);

// Converts t (F32, F16, BF16 or F64) to out[t->numel] floats: exact for F16/BF16, rounded for F64.
// Other dtypes give TF_EBADFILE naming the file and tensor. Parallel (OpenMP) for big tensors.
int tf_st_to_f32(const tf_st_file *f, const tf_st_tensor *t, float *out, tf_error *err);

// "F32" ... for a dtype; NULL when out of range.
const char *tf_st_dtype_name(tf_st_dtype d);
// Bytes per element (1 for BOOL and the F8 types).
size_t tf_st_dtype_size(tf_st_dtype d);

// The scalar conversions of F16 and BF16 elements (tf_f16_to_f32, ...) are in tf_kernels.h.

// ---- writing -----------------------------------------------------------------------------------
// One tensor to write. Give either data (nbytes = numel * dtype size, in dtype) or fill, which is
// called with a buffer of that many bytes (64-byte aligned) to produce the data on demand (for
// layouts that differ from memory, e.g. transposes), with ctx passed through.
typedef struct {
    const char *name;
    tf_st_dtype dtype;
    int ndim;
    int64_t shape[TF_ST_MAX_DIMS];
    const void *data;
    void (*fill)(const void *ctx, void *out);
    const void *ctx;
} tf_st_entry;

// Writes entries[n] to path atomically (temporary file beside it, fsync, rename): header
// {"__metadata__": {"format": "pt"}, ...} padded with spaces to a multiple of 8 bytes, tensors in
// the given order, back to back. Names must be unique and non-empty.
int tf_st_write(const char *path, const tf_st_entry *entries, int n, tf_error *err);

#endif
