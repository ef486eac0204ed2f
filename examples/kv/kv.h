/* kv.h — the key-value service's shared names: message types (atoms,
 * interned once by kv_atoms_init before the system starts), the two
 * behaviours, and what a client is started with. */
#ifndef KV_H
#define KV_H

#include <stdatomic.h>

#include <troupe.h>

#define KV_NAME "kv"         /* the store's registered name */
#define KV_POISON "poison"   /* putting this key crashes the store */
#define KV_TIMEOUT_MS 500    /* every call's timeout */

/* kv.put (str key, bytes value) -> tr.ok; kv.get (str key) -> kv.value
 * (the bytes) or kv.missing; kv.stats: the store's timer; kv.next: a
 * client's next request; kv.done: a client's summary, to main. */
extern tr_atom KV_PUT, KV_GET, KV_VALUE, KV_MISSING, KV_STATS, KV_NEXT, KV_DONE;
int kv_atoms_init(void);

/* The store's incarnations (its init counts them): restarts + 1. */
extern atomic_uint kv_store_starts;

typedef struct kv_client_args {
    uint32_t id;
    uint32_t requests; /* 0: until stopped */
    int64_t pace_ms;   /* between requests */
    tr_pid report_to;  /* gets kv.done (u32 id, sent, ok, missing, timeouts, downs) */
} kv_client_args;

extern const tr_behaviour kv_store, kv_client;

#endif
