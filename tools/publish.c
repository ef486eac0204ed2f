/* publish.c — a tree made visible to `troupe tree` (publish.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publish.h"

const char *troupe_strategy_name(tr_strategy s)
{
    switch (s) {
    case TR_ONE_FOR_ONE: return "one_for_one";
    case TR_ONE_FOR_ALL: return "one_for_all";
    case TR_REST_FOR_ONE: return "rest_for_one";
    case TR_SIMPLE_ONE_FOR_ONE: return "simple_one_for_one";
    }
    return "?";
}

/* ------------------------------------------------------------ the text */

static bool line_safe(const char *s) { return s && !strpbrk(s, "\t\n"); }

static void put_line(FILE *out, const char *path, const char *beh, const char *strategy,
                     const char *node)
{
    fprintf(out, "%s\t%s\t%s\t%s\n", path, beh, strategy ? strategy : "-",
            line_safe(node) && *node ? node : "-");
}

static void put_children(FILE *out, const tr_sup_spec *spec, const char *prefix, int depth)
{
    if (depth > 64) return; /* specs are checked acyclic; this only bounds the stack */
    for (size_t i = 0; i < spec->nchildren; i++) {
        const tr_child_spec *c = &spec->children[i];
        if (!line_safe(c->id)) continue;
        char path[4096];
        int len = spec->strategy == TR_SIMPLE_ONE_FOR_ONE
                      ? snprintf(path, sizeof path, "%s%s*", prefix, *prefix ? "/" : "")
                      : snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "/" : "", c->id);
        if (len < 0 || (size_t)len >= sizeof path) continue; /* deeper than any tree shown */
        if (c->supervisor) {
            put_line(out, path, "supervisor", troupe_strategy_name(c->supervisor->strategy), NULL);
            put_children(out, c->supervisor, path, depth + 1);
        } else {
            const char *beh = c->process     ? tr_process_behaviour.name /* an OS process */
                              : c->behaviour ? tr_behaviour_name_of(c->behaviour)
                                             : NULL;
            if (!line_safe(beh) && c->behaviour && line_safe(c->behaviour->name))
                beh = c->behaviour->name; /* a C tree's unregistered behaviour */
            put_line(out, path, line_safe(beh) ? beh : "-", NULL, c->node);
        }
    }
}

/* ------------------------------------------------------------ the actor */

/* args: the root's pid, then the text (no NUL). The state keeps both. */
typedef struct specs {
    tr_pid root;
    char *text;
    size_t len;
} specs;

static tr_atom specs_atom(void) { return tr_atom_from(TROUPE_SPECS_NAME); }

/* Never fails: a failing child of the system's root would fail the root,
 * and with it the tree this actor only describes. */
static int specs_init(tr_ctx *ctx, void *st, const void *args, size_t size)
{
    specs *s = st;
    if (size < sizeof s->root) {
        tr_stop(ctx);
        return 0;
    }
    memcpy(&s->root, args, sizeof s->root);
    size_t len = size - sizeof s->root;
    if ((s->text = malloc(len ? len : 1))) {
        memcpy(s->text, (const char *)args + sizeof s->root, len);
        s->len = len;
    }
    if (tr_monitor(ctx, s->root, NULL) != TR_OK) tr_stop(ctx);
    return 0;
}

static int specs_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    specs *s = st;
    if (tr_msg_is(m, tr_down_atom())) { /* the tree ended: so does its description */
        tr_stop(ctx);
        return 0;
    }
    if (tr_msg_is_request(m) && tr_msg_is(m, specs_atom()))
        return tr_reply(ctx, m, specs_atom(), s->text, s->text ? s->len : 0);
    return 0;
}

static void specs_terminate(tr_ctx *ctx, void *st, const tr_exit *why)
{
    (void)ctx, (void)why;
    free(((specs *)st)->text);
}

static const tr_behaviour specs_behaviour = {"troupe.tree.specs", sizeof(specs), specs_init,
                                             specs_handle, specs_terminate};

int troupe_publish_tree(tr_system *sys, const tr_sup_spec *spec, tr_pid root, char *why,
                        size_t why_size)
{
    if (why_size) why[0] = '\0';
    int rc = tr_register(sys, TROUPE_TREE_NAME, root);
    if (rc != TR_OK) {
        snprintf(why, why_size, "cannot register the tree as %s: %s", TROUPE_TREE_NAME,
                 tr_strerror(rc));
        return rc;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) {
        snprintf(why, why_size, "cannot describe the tree: out of memory");
        return TR_ENOMEM;
    }
    fwrite(&root, sizeof root, 1, out);
    put_line(out, ".", "supervisor", troupe_strategy_name(spec->strategy), NULL);
    put_children(out, spec, "", 0);
    if (fclose(out) != 0 || !buf) {
        free(buf);
        snprintf(why, why_size, "cannot describe the tree: out of memory");
        return TR_ENOMEM;
    }
    rc = tr_system_spawn(sys, &specs_behaviour,
                         &(tr_spawn_opts){.name = "tree-specs",
                                          .args = buf,
                                          .args_size = len,
                                          .register_as = TROUPE_SPECS_NAME},
                         NULL);
    free(buf);
    if (rc != TR_OK)
        snprintf(why, why_size, "cannot start the %s actor: %s", TROUPE_SPECS_NAME,
                 tr_strerror(rc));
    return rc;
}
