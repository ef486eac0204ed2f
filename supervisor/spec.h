/* spec.h — child and supervisor specs: validation, and the flat encoding
 * in which a supervisor receives its spec (as spawn args) and dynamic
 * start_child requests carry theirs. Encoding copies every string and arg
 * byte, so a supervisor never depends on memory its starter owns; nested
 * supervisor specs travel as the args of their child spec. */
#ifndef TRI_SUP_SPEC_H
#define TRI_SUP_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe.h"

/* A growable byte buffer; `oom` sticks once an allocation failed. */
typedef struct tri_buf {
    char *p;
    size_t n, cap;
    bool oom;
} tri_buf;

/* A read cursor; `bad` sticks once a read ran past the end. */
typedef struct tri_rd {
    const char *p;
    size_t n, at;
    bool bad;
} tri_rd;

/* One child as a supervisor keeps it: its spec (owned copies) plus the
 * supervisor's bookkeeping. */
typedef struct tri_child {
    char *id;
    const tr_behaviour *beh;
    void *args; /* for a supervisor child: its encoded spec */
    size_t args_size;
    tr_child_type type;
    tr_restart restart;
    int64_t shutdown_ms;
    bool significant;
    tr_backoff backoff;
    char *register_as; /* NULL: none */
    uint32_t capacity;
    uint8_t on_full;
    char *node; /* NULL: this node */
    /* run-time state (supervisor.c) */
    tr_pid pid;
    int status;
    uint64_t restarts;
    int64_t delay_ms, last_restart_ms;
    tr_request reply; /* a dynamic request waiting for this child */
    int reply_kind;   /* what that request was (supervisor.c) */
    bool planned;     /* started (or tried) by the restart plan under way */
    size_t pos;       /* its index in the supervisor's array */
} tri_child;

typedef struct tri_sup_conf {
    tr_strategy strategy;
    uint32_t intensity;
    int64_t period_ms;
    tr_auto_shutdown auto_shutdown;
    tri_child **children;
    size_t n, cap;
} tri_sup_conf;

int tri_spec_check(const tr_sup_spec *spec, char *why, size_t why_size);
int tri_child_check(const tr_child_spec *c, char *why, size_t why_size);

void tri_encode_sup(tri_buf *b, const tr_sup_spec *spec);
void tri_encode_child(tri_buf *b, const tr_child_spec *c);

/* Decoders allocate; NULL/-1 on malformed input or no memory. */
int tri_decode_sup(const void *p, size_t n, tri_sup_conf *out);
tri_child *tri_decode_child(tri_rd *r);

void tri_child_free(tri_child *c);
void tri_conf_free(tri_sup_conf *conf);

void tri_put(tri_buf *b, const void *p, size_t n);
void tri_get(tri_rd *r, void *p, size_t n);

#endif
