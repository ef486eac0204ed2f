/* hooks.h — the few internals that supervisor/ may use beyond the public
 * API. Kept to this one header so the dependency stays visible. */
#ifndef TRI_HOOKS_H
#define TRI_HOOKS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "troupe.h"

/* An atom interned once into `slot`, then read without a lock. */
tr_atom tri_atom_cached(_Atomic uint32_t *slot, const char *name);

/* Counts one restart in the calling actor's introspection (tr_info). */
void tri_count_restart(tr_ctx *ctx);

/* Whether `pid` (of this system) names an actor that has not ended: OTP's
 * erlang:is_process_alive. Any thread. */
bool tri_pid_alive(tr_system *sys, tr_pid pid);

/* tr_system_spawn whose actor's end, whatever its reason, is sent to
 * `exit_to` as one "tr.exit" (tr_exit_decode: the actor's pid, kind, text)
 * and never fails the root: the root takes it as trapped. `exit_to` must
 * not be nil; opts->node must be NULL (TR_EINVAL). Errors as
 * tr_system_spawn. Any thread. */
int tri_spawn_reporting(tr_system *sys, const tr_behaviour *beh, const tr_spawn_opts *opts,
                        tr_pid exit_to, tr_pid *out);

#endif
