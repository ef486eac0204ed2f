/* process_spec.c — checking, encoding and decoding process specs
 * (process_spec.h). */
#include "process_spec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC 0x53505254u /* "TRPS" */

/* The fixed head; then program, cwd, node name, args, env: each a string
 * with its NUL (an empty cwd or node name: none). */
struct head {
    uint32_t magic;
    uint32_t kind;
    int64_t start_timeout_ms;
    uint32_t nargs, nenv;
    uint64_t size; /* of the whole encoding: extra args follow it */
};

static int bad(char *why, size_t ws, const char *text)
{
    if (why && ws) snprintf(why, ws, "%s", text);
    return TR_EINVAL;
}

static bool printable_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] == 0x7f) return false;
    return true;
}

tr_err tr_process_spec_check(const tr_process_spec *s, char *why, size_t ws)
{
    if (why && ws) why[0] = '\0';
    if (!s) return bad(why, ws, "no process spec");
    if (!s->program || !*s->program) return bad(why, ws, "a process needs a program");
    if (s->nargs && !s->args) return bad(why, ws, "nargs without args");
    for (size_t i = 0; i < s->nargs; i++)
        if (!s->args[i]) return bad(why, ws, "a NULL argument");
    if (s->nenv && !s->env) return bad(why, ws, "nenv without env");
    for (size_t i = 0; i < s->nenv; i++) {
        const char *eq = s->env[i] ? strchr(s->env[i], '=') : NULL;
        if (!eq || eq == s->env[i]) return bad(why, ws, "an env entry must be KEY=VALUE");
    }
    if ((unsigned)s->kind > TR_PROCESS_NODE) return bad(why, ws, "unknown process kind");
    if (s->kind == TR_PROCESS_NODE && (!s->node_name || !printable_name(s->node_name)))
        return bad(why, ws, "a node process needs a node name of 1 to 255 printable bytes");
    if (s->start_timeout_ms < 0) return bad(why, ws, "start timeout must be >= 0");
    if (s->cwd && !*s->cwd) return bad(why, ws, "an empty working directory");
    return TR_OK;
}

static size_t str_size(const char *s) { return (s ? strlen(s) : 0) + 1; }

static char *put_str(char *p, const char *s)
{
    size_t n = str_size(s);
    if (n > 1) memcpy(p, s, n);
    else *p = '\0';
    return p + n;
}

void *tri_process_encode(const tr_process_spec *s, size_t *n)
{
    size_t size = sizeof(struct head) + str_size(s->program) + str_size(s->cwd) +
                  str_size(s->kind == TR_PROCESS_NODE ? s->node_name : NULL);
    for (size_t i = 0; i < s->nargs; i++) size += str_size(s->args[i]);
    for (size_t i = 0; i < s->nenv; i++) size += str_size(s->env[i]);
    char *mem = malloc(size);
    if (!mem) return NULL;
    struct head h = {MAGIC, (uint32_t)s->kind,
                     s->start_timeout_ms ? s->start_timeout_ms : TR_PROCESS_START_TIMEOUT_MS,
                     (uint32_t)s->nargs, (uint32_t)s->nenv, size};
    memcpy(mem, &h, sizeof h);
    char *p = mem + sizeof h;
    p = put_str(p, s->program);
    p = put_str(p, s->cwd);
    p = put_str(p, s->kind == TR_PROCESS_NODE ? s->node_name : NULL);
    for (size_t i = 0; i < s->nargs; i++) p = put_str(p, s->args[i]);
    for (size_t i = 0; i < s->nenv; i++) p = put_str(p, s->env[i]);
    *n = size;
    return mem;
}

/* The next string at *at (below end), or NULL when none is terminated. */
static const char *take(const char *mem, size_t *at, size_t end)
{
    if (*at >= end) return NULL;
    const char *s = mem + *at;
    const char *z = memchr(s, '\0', end - *at);
    if (!z) return NULL;
    *at = (size_t)(z - mem) + 1;
    return s;
}

int tri_process_decode(const void *p, size_t n, tri_process_conf *out)
{
    memset(out, 0, sizeof *out);
    struct head h;
    if (n < sizeof h) return TR_EINVAL;
    memcpy(&h, p, sizeof h);
    if (h.magic != MAGIC || h.kind > TR_PROCESS_NODE || h.size > n || h.size < sizeof h ||
        h.nargs > n || h.nenv > n)
        return TR_EINVAL;
    /* the extra args: NUL-separated, the last maybe unterminated */
    size_t nextra = 0;
    for (size_t i = h.size; i < n; i++)
        if (((const char *)p)[i] == '\0' || i + 1 == n) nextra++;
    out->mem = malloc(n + 1);
    out->arrays = calloc((size_t)h.nargs + nextra + h.nenv + 1, sizeof *out->arrays);
    if (!out->mem || !out->arrays) {
        tri_process_conf_free(out);
        return TR_ENOMEM;
    }
    memcpy(out->mem, p, n);
    out->mem[n] = '\0';
    size_t at = sizeof h, end = h.size;
    tr_process_spec *s = &out->spec;
    s->kind = (tr_process_kind)h.kind;
    s->start_timeout_ms = h.start_timeout_ms;
    s->program = take(out->mem, &at, end);
    s->cwd = take(out->mem, &at, end);
    s->node_name = take(out->mem, &at, end);
    bool ok = s->program && *s->program && s->cwd && s->node_name;
    size_t k = 0;
    for (uint32_t i = 0; ok && i < h.nargs; i++) ok = (out->arrays[k++] = take(out->mem, &at, end));
    size_t extra_at = h.size;
    for (size_t i = 0; ok && i < nextra; i++) ok = (out->arrays[k++] = take(out->mem, &extra_at, n + 1));
    size_t env_at = k;
    for (uint32_t i = 0; ok && i < h.nenv; i++) ok = (out->arrays[k++] = take(out->mem, &at, end));
    if (!ok || at != end) {
        tri_process_conf_free(out);
        return TR_EINVAL;
    }
    if (!*s->cwd) s->cwd = NULL;
    if (!*s->node_name) s->node_name = NULL;
    s->args = out->arrays;
    s->nargs = env_at;
    s->env = out->arrays + env_at;
    s->nenv = h.nenv;
    return TR_OK;
}

void tri_process_conf_free(tri_process_conf *c)
{
    free(c->mem);
    free(c->arrays);
    c->mem = NULL;
    c->arrays = NULL;
}
