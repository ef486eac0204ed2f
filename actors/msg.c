/* msg.c — building, reading and freeing messages. */
#include <string.h>

#include "msg_impl.h"
#include "pool.h"
#include "troupe/error.h"

/* prefix: bytes between the header and the inline payload (a call's ref) */
static tr_msg *alloc_msg(uint8_t kind, tr_atom type, size_t size, size_t prefix)
{
    bool inline_payload = size <= TR_MSG_INLINE;
    size_t block = sizeof(tr_msg) + prefix + (inline_payload ? size : 0);
    block = block <= 64 ? 64 : block <= 128 ? 128 : 256;
    tr_msg *m = tri_pool_alloc(block);
    if (!m) return NULL;
    m->dest_serial = 0;
    m->sender = TR_PID_NIL;
    m->type = type;
    m->size = (uint32_t)size;
    m->kind = kind;
    m->block = (uint16_t)block;
    m->call = TRI_CALL_NONE;
    m->counted = 0;
    m->exempt = 0;
    if (inline_payload) {
        m->outside = 0;
        m->data = size ? (char *)m + sizeof(tr_msg) + prefix : NULL;
    } else {
        m->outside = 1;
        m->data = tri_pool_alloc(size);
        if (!m->data) {
            tri_pool_free(m, block);
            return NULL;
        }
    }
    return m;
}

tr_msg *tri_msg_alloc_slow(uint8_t kind, tr_atom type, size_t size)
{
    return alloc_msg(kind, type, size, 0);
}

tr_msg *tri_msg_alloc_call(uint8_t role, uint64_t ref, tr_atom type, size_t size)
{
    tr_msg *m = alloc_msg(TRI_MSG_USER, type, size, sizeof ref);
    if (m) {
        m->call = role;
        memcpy((char *)m + sizeof *m, &ref, sizeof ref);
    }
    return m;
}

tr_msg *tri_msg_alloc_request(uint64_t ref, int64_t deadline_ns, tr_atom type, size_t size)
{
    tr_msg *m = alloc_msg(TRI_MSG_USER, type, size, sizeof ref + sizeof deadline_ns);
    if (m) {
        m->call = TRI_CALL_REQUEST;
        memcpy((char *)m + sizeof *m, &ref, sizeof ref);
        memcpy((char *)m + sizeof *m + sizeof ref, &deadline_ns, sizeof deadline_ns);
    }
    return m;
}

tr_err tr_msg_new(tr_atom type, size_t size, tr_msg **out)
{
    if (!out) return TR_EINVAL;
    *out = NULL;
    if (type.id == 0) return TR_EINVAL;
    if (size > TR_MSG_MAX) return TR_ETOOBIG;
    tr_msg *m = tri_msg_alloc(TRI_MSG_USER, type, size);
    if (!m) return TR_ENOMEM;
    *out = m;
    return TR_OK;
}

void *tr_msg_buffer(tr_msg *msg) { return msg ? msg->data : NULL; }

void tr_msg_destroy(tr_msg **msg)
{
    if (!msg) return;
    tri_msg_free(*msg);
    *msg = NULL;
}

tr_atom tr_msg_type(const tr_msg *msg) { return msg ? msg->type : (tr_atom){0}; }
const void *tr_msg_data(const tr_msg *msg) { return msg ? msg->data : NULL; }
size_t tr_msg_size(const tr_msg *msg) { return msg ? msg->size : 0; }
tr_pid tr_msg_sender(const tr_msg *msg) { return msg ? msg->sender : TR_PID_NIL; }

tr_msg *tri_msg_copy(const tr_msg *m)
{
    tr_msg *c = m->call == TRI_CALL_REQUEST
                    ? tri_msg_alloc_request(tri_msg_ref(m), tri_msg_deadline(m), m->type, m->size)
                : m->call != TRI_CALL_NONE ? tri_msg_alloc_call(m->call, tri_msg_ref(m), m->type, m->size)
                                           : tri_msg_alloc(m->kind, m->type, m->size);
    if (!c) return NULL;
    if (m->size) memcpy(c->data, m->data, m->size);
    c->sender = m->sender;
    c->exempt = m->exempt;
    return c;
}
