/* process_spec.h — a process child's spec as bytes: the spawn args of a
 * "tr.process" actor, and how a supervisor keeps a process child's spec
 * (supervisor/spec.c). Process children live in this process only, so
 * the encoding is native (no byte order, no versioning). */
#ifndef TRI_PROCESS_SPEC_H
#define TRI_PROCESS_SPEC_H

#include <stddef.h>

#include "troupe.h"
#include "troupe/process.h"

/* A decoded spec: `spec`'s strings and arrays point into `mem`. */
typedef struct tri_process_conf {
    tr_process_spec spec;
    char *mem;
    const char **arrays; /* args then env */
} tri_process_conf;

/* Encodes a checked spec into a malloc'd block (*n its size); NULL when
 * out of memory. */
void *tri_process_encode(const tr_process_spec *spec, size_t *n);

/* Decodes `n` bytes. Bytes after the encoded spec are more arguments:
 * NUL-separated strings appended to its args (a simple_one_for_one
 * supervisor appends start_child's args to its template's). TR_EINVAL on
 * malformed input, TR_ENOMEM. */
int tri_process_decode(const void *p, size_t n, tri_process_conf *out);

void tri_process_conf_free(tri_process_conf *c);

#endif
