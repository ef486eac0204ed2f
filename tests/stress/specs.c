/* specs.c — random options for what the stress test starts: mailbox
 * bounds, shutdown times (none short in a strict epoch, where nothing may
 * be killed), supervisor specs (all four strategies, nested, with
 * restart types, intensities, backoffs, significant children) and the
 * anchors' spawn options. The ledger learns what was built (a
 * supervisor's strategy and which of its children are supervisors). */
#include <stdio.h>
#include <string.h>

#include "stress.h"

tr_full_policy random_policy(rng *r, uint32_t *cap)
{
    if (!chance(r, 200)) {
        *cap = 0;
        return TR_FULL_FAIL;
    }
    *cap = 2 + below(r, 30);
    return (tr_full_policy)below(r, 4);
}

/* A shutdown time: infinite in strict epochs (nothing is ever killed);
 * in kill epochs brutal, short (the child is abandoned when it runs late)
 * or infinite. */
int64_t random_shutdown(rng *r)
{
    if (bk->strict) return TR_SHUTDOWN_INFINITY;
    uint32_t k = below(r, 10);
    return k < 3 ? TR_SHUTDOWN_BRUTAL : k < 7 ? 1 + (int64_t)below(r, 20) : TR_SHUTDOWN_INFINITY;
}

/* A child spec's worker args, for supervisor `sup` (its record). */
wargs child_args(rng *r, uint32_t sup, uint32_t depth, bool meek)
{
    wargs a = {.parent = sup, .slot = slot_new(), .depth = depth, .seed = rnd(r)};
    if (meek) a.flags |= WF_MEEK;
    if (chance(r, 200)) a.flags |= WF_TRAP;
    return a;
}

/* Builds a random spec for a supervisor whose record is `sup` (at depth
 * `depth`); `meek`: a top-level one, whose children must never stop it. */
void build_spec(rng *r, spec_buf *b, uint32_t sup, uint32_t depth, bool meek, spec_buf *nested_room)
{
    memset(b, 0, sizeof *b);
    tr_sup_spec *sp = &b->spec;
    sp->strategy = (tr_strategy)below(r, 4);
    R(sup)->strategy = (uint8_t)sp->strategy;
    if (meek) {
        sp->intensity = 1000000; /* never gives up: that would fail the root */
        sp->period_ms = 1;
    } else {
        sp->intensity = below(r, 6);
        sp->period_ms = 10 + below(r, 500);
        if (sp->strategy != TR_SIMPLE_ONE_FOR_ONE && chance(r, 150))
            sp->auto_shutdown = (tr_auto_shutdown)(1 + below(r, 2));
    }
    size_t n = sp->strategy == TR_SIMPLE_ONE_FOR_ONE ? 1 : 1 + below(r, SPEC_MAX);
    for (size_t i = 0; i < n; i++) {
        tr_child_spec *c = &b->kids[i];
        snprintf(b->ids[i], sizeof b->ids[i], "c%u", (unsigned)(i % SPEC_MAX)); /* i < SPEC_MAX */
        c->id = b->ids[i];
        c->restart = (tr_restart)below(r, 3);
        c->shutdown_ms = random_shutdown(r);
        if (chance(r, 250)) {
            c->backoff.min_ms = 1 + below(r, 3);
            c->backoff.max_ms = c->backoff.min_ms + below(r, 20);
            c->backoff.reset_ms = 50;
            c->backoff.jitter = below(r, 100) / 100.0;
        }
        c->on_full = random_policy(r, &c->capacity);
        if (!meek && sp->auto_shutdown != TR_AUTO_SHUTDOWN_NEVER && c->restart != TR_PERMANENT &&
            chance(r, 500))
            c->significant = true;
        if (!meek && nested_room && !b->nested && depth < 5 &&
            sp->strategy != TR_SIMPLE_ONE_FOR_ONE && chance(r, 150)) {
            uint32_t nr = rec_new(K_SUP, sup);
            if (nr) {
                rec_link(nr);
                build_spec(r, nested_room, nr, depth + 1, false, NULL);
                b->nested = nested_room;
                c->supervisor = &nested_room->spec;
                c->shutdown_ms = bk->strict ? TR_SHUTDOWN_INFINITY : c->shutdown_ms;
                c->restart = chance(r, 500) ? TR_PERMANENT : TR_TRANSIENT; /* its spec stays */
                c->capacity = 0; /* its own messages to itself must not be refused */
                c->significant = c->significant && c->restart != TR_PERMANENT;
                R(sup)->supmask |= (uint8_t)(1u << i);
                continue;
            }
        }
        b->args[i] = child_args(r, sup, depth + 1, meek);
        b->args[i].capacity = c->capacity;
        b->args[i].policy = (uint8_t)c->on_full;
        if (sp->strategy == TR_SIMPLE_ONE_FOR_ONE) b->args[i].slot = 0; /* no ids to keep apart */
        c->behaviour = &worker_b;
        c->args = &b->args[i];
        c->args_size = sizeof b->args[i];
        if (!meek && sp->strategy != TR_SIMPLE_ONE_FOR_ONE && chance(r, 50)) {
            static const char *const names[] = {"r0", "r1", "r2", "r3"};
            c->register_as = names[below(r, 4)];
        }
    }
    sp->children = b->kids;
    sp->nchildren = n;
}

tr_spawn_opts anchor_opts(rng *r, wargs *a, uint32_t rec_idx)
{
    *a = (wargs){.rec = rec_idx, .flags = WF_ANCHOR | WF_TRAP, .seed = rnd(r)};
    return (tr_spawn_opts){.args = a,
                           .args_size = sizeof *a,
                           .flags = TR_SPAWN_TRAP_EXITS,
                           .shutdown_ms = random_shutdown(r)};
}
