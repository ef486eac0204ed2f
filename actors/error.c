/* error.c — names of error codes, and pid formatting. */
#include <inttypes.h>
#include <stdio.h>

#include "troupe/error.h"
#include "troupe/pid.h"

const char *tr_strerror(int err)
{
    switch (err) {
    case TR_OK: return "success";
    case TR_ENOMEM: return "out of memory";
    case TR_EINVAL: return "invalid argument";
    case TR_ENOENT: return "no such actor or name";
    case TR_ESTOPPED: return "system or actor is stopping";
    case TR_EFULL: return "mailbox full";
    case TR_ETIMEDOUT: return "timed out";
    case TR_EFAILED: return "actor failed";
    case TR_ETOOBIG: return "message too big";
    case TR_ENOTACTOR: return "not allowed from this thread";
    case TR_EEXIST: return "already exists";
    case TR_EAGAIN: return "resource temporarily unavailable";
    case TR_ESTATE: return "wrong state for this call";
    case TR_ENOROUTE: return "no route to node";
    case TR_EPRESENT: return "child spec already present";
    case TR_EBUSY: return "child is running";
    case TR_EBADMSG: return "malformed payload";
    }
    return "unknown error";
}

const char *tr_err_name(int err)
{
    switch (err) {
    case TR_OK: return "TR_OK";
    case TR_ENOMEM: return "TR_ENOMEM";
    case TR_EINVAL: return "TR_EINVAL";
    case TR_ENOENT: return "TR_ENOENT";
    case TR_ESTOPPED: return "TR_ESTOPPED";
    case TR_EFULL: return "TR_EFULL";
    case TR_ETIMEDOUT: return "TR_ETIMEDOUT";
    case TR_EFAILED: return "TR_EFAILED";
    case TR_ETOOBIG: return "TR_ETOOBIG";
    case TR_ENOTACTOR: return "TR_ENOTACTOR";
    case TR_EEXIST: return "TR_EEXIST";
    case TR_EAGAIN: return "TR_EAGAIN";
    case TR_ESTATE: return "TR_ESTATE";
    case TR_ENOROUTE: return "TR_ENOROUTE";
    case TR_EPRESENT: return "TR_EPRESENT";
    case TR_EBUSY: return "TR_EBUSY";
    }
    return "TR_E?";
}

char *tr_pid_format(tr_pid pid, char *buf, size_t size)
{
    if (buf && size) snprintf(buf, size, "<%" PRIu32 ".%" PRIu32 ".%" PRIu64 ">", pid.node, pid.slot, pid.serial);
    return buf;
}

/* One decimal number (no sign, no space) ending at `end`, at most `max`. */
static bool parse_num(const char **p, char end, uint64_t max, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9') return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (max - (uint64_t)(*s - '0')) / 10) return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (*s != end) return false;
    *p = s + 1;
    *out = v;
    return true;
}

tr_err tr_pid_parse(const char *text, tr_pid *out)
{
    uint64_t node, slot, serial;
    if (out) *out = TR_PID_NIL;
    if (!text || !out || *text != '<') return TR_EINVAL;
    const char *p = text + 1;
    if (!parse_num(&p, '.', UINT32_MAX, &node) || !parse_num(&p, '.', UINT32_MAX, &slot) ||
        !parse_num(&p, '>', UINT64_MAX, &serial) || *p)
        return TR_EINVAL;
    *out = (tr_pid){(uint32_t)node, (uint32_t)slot, serial};
    return TR_OK;
}
