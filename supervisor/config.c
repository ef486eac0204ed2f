/* config.c — the config object (troupe/config.h): loading a file, the
 * located errors, the getters, and starting the tree. The YAML walk itself
 * is in config_yaml.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"

/* Past this many, one last error says so and the rest are dropped: a
 * binary file fed to the loader must not print megabytes. */
#define MAX_ERRORS 200

/* ------------------------------------------------------------- arena */

struct tri_arena_block {
    tri_arena_block *next;
    max_align_t data[];
};

void *tri_arena_alloc(tri_arena *a, size_t size)
{
    if (a->oom || size > SIZE_MAX - sizeof(tri_arena_block)) {
        a->oom = true;
        return NULL;
    }
    /* One malloc per allocation: configs are small and this keeps
     * ASan's view of every block exact. */
    tri_arena_block *b = calloc(1, sizeof *b + (size ? size : 1));
    if (!b) {
        a->oom = true;
        return NULL;
    }
    b->next = a->head;
    a->head = b;
    return b->data;
}

char *tri_arena_strndup(tri_arena *a, const char *s, size_t n)
{
    char *p = tri_arena_alloc(a, n + 1);
    if (p) memcpy(p, s, n);
    return p;
}

char *tri_arena_strdup(tri_arena *a, const char *s) { return tri_arena_strndup(a, s, strlen(s)); }

void *tri_arena_memdup(tri_arena *a, const void *p, size_t n)
{
    void *q = tri_arena_alloc(a, n);
    if (q && n) memcpy(q, p, n);
    return q;
}

void tri_arena_free(tri_arena *a)
{
    for (tri_arena_block *b = a->head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    a->head = NULL;
}

/* ------------------------------------------------------------- errors */

char *tr_config_format_error(const tr_config_error *w, const char *message, char *buf, size_t size)
{
    if (!buf || !size) return buf;
    const char *file = w && w->file ? w->file : "<config>";
    if (!message) message = "";
    if (w && w->line)
        snprintf(buf, size, "%s:%u:%u: error: %s", file, w->line, w->column, message);
    else
        snprintf(buf, size, "%s: error: %s", file, message);
    return buf;
}

void tri_config_error(tr_config *cfg, unsigned line, unsigned column, const char *fmt, ...)
{
    if (cfg->too_many_errors) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < cfg->nerr; i++)
        if (cfg->errs[i].line == line && cfg->errs[i].column == column &&
            strcmp(cfg->errs[i].message, msg) == 0)
            return;
    if (cfg->nerr == MAX_ERRORS) {
        cfg->too_many_errors = true;
        snprintf(msg, sizeof msg, "too many errors (%d): the rest are not listed", MAX_ERRORS);
        line = column = 0;
    }
    if (cfg->nerr == cfg->errcap) {
        size_t cap = cfg->errcap ? cfg->errcap * 2 : 8;
        tr_config_error *e = realloc(cfg->errs, cap * sizeof *e);
        if (!e) {
            cfg->arena.oom = true;
            return;
        }
        cfg->errs = e;
        cfg->errcap = cap;
    }
    tr_config_error *e = &cfg->errs[cfg->nerr];
    e->file = cfg->file;
    e->line = line;
    e->column = column;
    e->message = tri_arena_strdup(&cfg->arena, msg);
    char text[1400];
    tr_config_format_error(e, msg, text, sizeof text);
    e->text = tri_arena_strdup(&cfg->arena, text);
    if (!e->message || !e->text) return;
    cfg->nerr++;
}

/* Sorts errors into file order, errors without a position (a file-level
 * error, "too many") last; an insertion sort, so ties keep the order they
 * were found in (the lists are short). */
static void sort_errors(tr_config *cfg)
{
    for (size_t i = 1; i < cfg->nerr; i++) {
        tr_config_error e = cfg->errs[i];
        unsigned el = e.line ? e.line : ~0u;
        size_t j = i;
        for (; j > 0; j--) {
            const tr_config_error *p = &cfg->errs[j - 1];
            unsigned pl = p->line ? p->line : ~0u;
            if (!(el < pl || (el == pl && e.column < p->column))) break;
            cfg->errs[j] = *p;
        }
        cfg->errs[j] = e;
    }
}

size_t tr_config_error_count(const tr_config *cfg) { return cfg ? cfg->nerr : 0; }

const tr_config_error *tr_config_error_get(const tr_config *cfg, size_t i)
{
    return cfg && i < cfg->nerr ? &cfg->errs[i] : NULL;
}

/* ------------------------------------------------------------- records */

void tri_config_loc(tr_config *cfg, const char *path, unsigned line, unsigned column)
{
    if (cfg->nlocs == cfg->loccap) {
        size_t cap = cfg->loccap ? cfg->loccap * 2 : 64;
        tri_loc *l = realloc(cfg->locs, cap * sizeof *l);
        if (!l) {
            cfg->arena.oom = true;
            return;
        }
        cfg->locs = l;
        cfg->loccap = cap;
    }
    const char *p = tri_arena_strdup(&cfg->arena, path);
    if (!p) return;
    cfg->locs[cfg->nlocs++] = (tri_loc){p, line, column};
}

void tri_config_meta(tr_config *cfg, const tri_child_meta *m)
{
    if (cfg->nmeta == cfg->metacap) {
        size_t cap = cfg->metacap ? cfg->metacap * 2 : 16;
        tri_child_meta *q = realloc(cfg->meta, cap * sizeof *q);
        if (!q) {
            cfg->arena.oom = true;
            return;
        }
        cfg->meta = q;
        cfg->metacap = cap;
    }
    cfg->meta[cfg->nmeta++] = *m;
}

tr_err tr_config_locate(const tr_config *cfg, const char *path, tr_config_error *out)
{
    if (!cfg || !path || !out) return TR_EINVAL;
    for (size_t i = 0; i < cfg->nlocs; i++)
        if (strcmp(cfg->locs[i].path, path) == 0) {
            *out = (tr_config_error){cfg->file, cfg->locs[i].line, cfg->locs[i].column, NULL, NULL};
            return TR_OK;
        }
    return TR_ENOENT;
}

const char *tri_config_path(tr_config *cfg, const char *rel)
{
    if (rel[0] == '/' || !cfg->dir[0]) return tri_arena_strdup(&cfg->arena, rel);
    size_t a = strlen(cfg->dir), b = strlen(rel);
    char *p = tri_arena_alloc(&cfg->arena, a + b + 1);
    if (!p) return NULL;
    memcpy(p, cfg->dir, a);
    memcpy(p + a, rel, b + 1);
    return p;
}

/* ------------------------------------------------------------- loading */

static tr_config *config_new(const char *name, unsigned flags)
{
    tr_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    cfg->flags = flags;
    cfg->log_level = TR_LOG_WARN;
    if (!name) name = "<string>";
    cfg->file = tri_arena_strdup(&cfg->arena, name);
    const char *slash = strrchr(name, '/');
    cfg->dir = slash ? tri_arena_strndup(&cfg->arena, name, (size_t)(slash - name) + 1)
                     : tri_arena_strdup(&cfg->arena, "");
    if (cfg->arena.oom) {
        tr_config_destroy(&cfg);
        return NULL;
    }
    return cfg;
}

static int finish(tr_config *cfg, tr_config **out)
{
    if (cfg->arena.oom) {
        tr_config_destroy(&cfg);
        *out = NULL;
        return TR_ENOMEM;
    }
    sort_errors(cfg);
    *out = cfg;
    return cfg->nerr ? TR_EINVAL : TR_OK;
}

tr_err tr_config_parse(const char *name, const char *text, size_t size, unsigned flags,
                    tr_config **out)
{
    if (!out) return TR_EINVAL;
    *out = NULL;
    if (!text && size) return TR_EINVAL;
    tr_config *cfg = config_new(name, flags);
    if (!cfg) return TR_ENOMEM;
    if (size > TR_CONFIG_MAX_SIZE)
        tri_config_error(cfg, 0, 0, "the file is larger than %u bytes", TR_CONFIG_MAX_SIZE);
    else
        tri_config_walk(cfg, text ? text : "", size);
    return finish(cfg, out);
}

tr_err tr_config_load(const char *path, unsigned flags, tr_config **out)
{
    if (!out) return TR_EINVAL;
    *out = NULL;
    if (!path) return TR_EINVAL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        tr_config *cfg = config_new(path, flags);
        if (!cfg) return TR_ENOMEM;
        tri_config_error(cfg, 0, 0, "cannot open: %s", strerror(e));
        return finish(cfg, out);
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    bool too_big = false, read_error = false;
    for (;;) {
        if (n == cap) {
            if (cap > TR_CONFIG_MAX_SIZE) {
                too_big = true;
                break;
            }
            cap = cap ? cap * 2 : 4096;
            char *q = realloc(buf, cap);
            if (!q) {
                free(buf);
                fclose(f);
                return TR_ENOMEM;
            }
            buf = q;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            read_error = ferror(f) != 0;
            break;
        }
    }
    int e = errno;
    fclose(f);
    int rc;
    if (too_big || read_error) {
        tr_config *cfg = config_new(path, flags);
        if (!cfg) {
            free(buf);
            return TR_ENOMEM;
        }
        if (too_big)
            tri_config_error(cfg, 0, 0, "the file is larger than %u bytes", TR_CONFIG_MAX_SIZE);
        else
            tri_config_error(cfg, 0, 0, "cannot read: %s", strerror(e));
        rc = finish(cfg, out);
    } else {
        rc = tr_config_parse(path, buf ? buf : "", n, flags, out);
    }
    free(buf);
    return rc;
}

void tr_config_destroy(tr_config **cfg)
{
    if (!cfg || !*cfg) return;
    tr_config *c = *cfg;
    free(c->errs);
    free(c->locs);
    free(c->meta);
    tri_arena_free(&c->arena);
    free(c);
    *cfg = NULL;
}

/* ------------------------------------------------------------- getters */

static bool valid(const tr_config *cfg) { return cfg && cfg->nerr == 0; }

const char *tr_config_file(const tr_config *cfg) { return cfg ? cfg->file : NULL; }

const tr_sup_spec *tr_config_tree(const tr_config *cfg)
{
    return valid(cfg) && cfg->has_tree ? &cfg->tree : NULL;
}

const char *tr_config_tree_name(const tr_config *cfg)
{
    return valid(cfg) && cfg->has_tree ? cfg->tree_name : NULL;
}

const tr_system_opts *tr_config_system_opts(const tr_config *cfg)
{
    static const tr_system_opts defaults;
    return valid(cfg) ? &cfg->sys : &defaults;
}

tr_log_level tr_config_log_level(const tr_config *cfg)
{
    return valid(cfg) ? cfg->log_level : TR_LOG_WARN;
}

const tr_node_opts *tr_config_node(const tr_config *cfg)
{
    return valid(cfg) && cfg->has_node ? &cfg->node : NULL;
}

static const tri_child_meta *meta_of(const tr_config *cfg, const tr_child_spec *child)
{
    for (size_t i = 0; cfg && i < cfg->nmeta; i++)
        if (cfg->meta[i].spec == child) return &cfg->meta[i];
    return NULL;
}

const char *tr_config_child_node(const tr_config *cfg, const tr_child_spec *child)
{
    const tri_child_meta *m = meta_of(cfg, child);
    return m ? m->node : NULL;
}

/* ------------------------------------------------------------- starting */

tr_err tr_config_start(const tr_config *cfg, tr_system *sys, int64_t timeout_ms, tr_pid *out,
                    char *why, size_t ws)
{
    if (why && ws) why[0] = '\0';
    if (out) *out = TR_PID_NIL;
    if (!cfg || !sys || !out) return TR_EINVAL;
    if (!valid(cfg) || !cfg->has_tree) {
        if (why && ws) snprintf(why, ws, "%s: the config has errors", cfg->file);
        return TR_EINVAL;
    }
    /* A remote child needs this system to be a node (the supervisor would
     * only say "no route"): say where the config asks for one. */
    for (size_t i = 0; i < cfg->nmeta && !tr_node_of(sys); i++) {
        const tri_child_meta *m = &cfg->meta[i];
        if (!m->node) continue;
        char msg[700];
        snprintf(msg, sizeof msg,
                 "child '%s' runs on node '%s', but this system is not a node (add a node: "
                 "section with a name)",
                 m->id, m->node);
        tr_config_error where = {cfg->file, m->line, m->column, NULL, NULL};
        if (why && ws) tr_config_format_error(&where, msg, why, ws);
        return TR_EINVAL;
    }
    return tr_supervisor_start(sys, &cfg->tree, cfg->tree_name, timeout_ms, out, why, ws);
}
