/* remote_child.h — children on other nodes (tr_spawn_opts.node).
 *
 * A remote child is two actors, one on each node:
 *   - the stub, on the parent's node: a real child of the caller, at its
 *     place in the caller's start order, so that ordered shutdown,
 *     deadlines, start notices, monitors, links and supervisors treat it
 *     as any child. It asks the child's node to start the child, forwards
 *     every message sent to it (keeping sender, call role, ref and
 *     deadline), and ends exactly when the child has ended, with the
 *     child's reason. A stopping stub does not finish while its child
 *     lives: it asks the child's node to stop it and waits for the end
 *     (its settle hook, core.h).
 *   - the host, on the child's node: a child of that node's root that
 *     parents the real child, monitors the stub (a stub that is gone, or a
 *     connection that is lost, gets the child killed: no orphan anywhere),
 *     and reports the child's start and end to the stub.
 * Across the wire: SPAWN_REQ (stub to node), SPAWN_REPLY and CHILD_EXIT
 * (host to stub), STOP_CHILD (stub to host, routed by the child's pid).
 * The transport answers CHILD_EXIT noconnection for every stub whose
 * child's node is lost (transport/book.c) and for a SPAWN_REQ it cannot
 * deliver (tri_signal_dead). */
#ifndef TRI_REMOTE_CHILD_H
#define TRI_REMOTE_CHILD_H

#include "core.h"

/* TRI_MSG_SPAWN_REQ: this header, then the behaviour's name, the child's
 * name, its register_as name (no NULs; their lengths here), then args.
 * The sender is the stub. */
struct tri_spawn_req {
    uint64_t ref;
    int64_t shutdown_ms;
    uint32_t flags, capacity, args_size;
    uint8_t on_full, beh_len, name_len, reg_len;
};

/* A SPAWN_REQ's parts, pointing into its message. */
typedef struct tri_spawn_req_view {
    struct tri_spawn_req h;
    const char *beh, *name, *reg; /* not NUL-terminated: h.*_len */
    const void *args;
} tri_spawn_req_view;

/* TRI_MSG_SPAWN_REPLY: this, then the text and its NUL. */
struct tri_spawn_reply {
    uint64_t ref;
    tr_pid child;   /* nil unless started */
    int32_t status; /* 0 started, 1 ignored, or a TR_E* code */
};

/* TRI_MSG_REMOTE_STOP: the sender is the stub. */
struct tri_remote_stop {
    tr_pid child;
    uint8_t kill;
};

/* TRI_MSG_CHILD_EXIT: this, then the text and its NUL. */
struct tri_child_exit {
    tr_pid child;
    uint32_t kind; /* tr_exit_kind */
};

/* Reads a SPAWN_REQ message; false when it is malformed. */
bool tri_spawn_req_read(const tr_msg *m, tri_spawn_req_view *out);

/* Builds the messages (NULL when out of memory): a SPAWN_REQ from the
 * view's fields; a SPAWN_REPLY; a CHILD_EXIT (text may be NULL; cut at
 * 1023 bytes). */
tr_msg *tri_spawn_req_msg(const tri_spawn_req_view *v);
tr_msg *tri_spawn_reply_msg(uint64_t ref, tr_pid child, int32_t status, const char *text);
tr_msg *tri_child_exit_msg(tr_pid child, tr_exit_kind kind, const char *text);

/* A SPAWN_REQ that cannot be delivered (tri_signal_dead): its stub is
 * told its child ended with `why`. */
void tri_spawn_req_dead(tr_system *sys, const tr_msg *m, tr_exit_kind why);

/* tr_spawn with opts->node naming another node: spawns the stub. */
int tri_spawn_remote(tr_system *sys, tri_actor *parent, const tr_behaviour *beh,
                     const tr_spawn_opts *opts, tr_pid *out);

/* The runtime messages of stubs and hosts, in their turn: true when `m`
 * was one. */
bool tri_remote_child_handle_sys(tri_actor *a, tr_msg *m);

/* The transport, for a SPAWN_REQ from the node named `from` (its sender
 * the stub there): starts a host under the root. Takes `m`. Any thread. */
void tri_deliver_spawn(tr_system *sys, const char *from, tr_msg *m);

/* The transport, for a STOP_CHILD: hands it to the host of `child` if its
 * stub is `stub`. Any thread. */
void tri_deliver_stop_child(tr_system *sys, tr_pid child, tr_pid stub, bool kill);

#endif
