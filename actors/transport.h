/* transport.h — the one seam between the core and a transport.
 *
 * The core knows nothing of ZeroMQ. A message (or a runtime signal: link,
 * monitor, exit) for a pid of another node goes to the system's transport
 * through this table, which the transport registers when the system
 * becomes a node; messages from other nodes come back in through
 * tri_deliver_remote. A second transport (shared memory, a test loopback)
 * needs nothing more than another table.
 *
 * Node ids are the same in every process (core.h, system.c), so pids need
 * no translation here or on the wire. */
#ifndef TRI_TRANSPORT_H
#define TRI_TRANSPORT_H

#include "core.h"

/* Payloads of the runtime signals a transport carries (link.c builds and
 * reads them): MONITOR and DEMONITOR carry a struct tri_watch; LINK and
 * UNLINK the linking actor's tr_pid; EXIT_SIGNAL a struct tri_exit_signal
 * (core.h) followed by the reason's text and its NUL. */
typedef struct tri_transport_ops {
    /* A message for `to` on another node: a user message (call roles
     * included) or a runtime signal (TRI_MSG_MONITOR, DEMONITOR, LINK,
     * UNLINK, EXIT_SIGNAL), with dest_serial and sender set. Takes `m` in
     * every case. Called from any thread (workers, the timer thread,
     * foreign threads); never blocks. Returns TR_OK once the message is
     * queued, or dead-lettered with its reason (tri_dead_letter_to: an
     * unknown or unconnected node); TR_EFULL when the queue to that node is
     * full (user messages only; answers and signals are never refused). */
    int (*send)(void *t, tr_pid to, tr_msg *m);
    /* The same for a name on another node ("name@node" split by the core). */
    int (*send_named)(void *t, const char *node, const char *name, tr_msg *m);
    /* The id of the connected node named `name`: TR_OK, or TR_ENOENT when
     * no such node is up. Any thread. */
    int (*node_id)(void *t, const char *name, uint32_t *id);
    /* Called once at tr_system_destroy when the tree has ended, workers
     * still running: disconnect from every node, answering for each as
     * lost (an actor abandoned while it waits on another node is then
     * released). May be NULL. */
    void (*stop)(void *t);
    /* Called once at tr_system_destroy, after every worker has stopped:
     * close sockets, join threads, free everything. */
    void (*destroy)(void *t);
} tri_transport_ops;

/* Makes `sys` a node: remote sends go to `ops`. `name` (copied) is the
 * node's name ("kv@host1"), used for "name@node" look-ups. Errors:
 * TR_ESTATE (already attached), TR_ENOMEM. */
int tri_transport_attach(tr_system *sys, const tri_transport_ops *ops, void *t, const char *name);

/* The transport's context if `ops` is the system's transport, else NULL. */
void *tri_transport_ctx(tr_system *sys, const tri_transport_ops *ops);

/* Whether `id` is the node id of a system of this process (so that its
 * inproc:// endpoints are reachable from here). Any thread. */
bool tri_node_id_local(uint32_t id);

/* The node's name, or NULL when the system is not a node. */
const char *tri_node_name(const tr_system *sys);

/* The id of the connected node named `name` (ops->node_id); TR_ENOROUTE
 * when the system is not a node. */
int tri_transport_node_id(tr_system *sys, const char *name, uint32_t *id);

/* Delivers `m` (decoded from another node; dest_serial and sender set) to
 * the local pid `to`: a user message as a send that never blocks or fails
 * (a full bounded mailbox drops it, counted), a runtime signal into the
 * actor's mailbox (answered as the dead would if no actor lives there).
 * Takes `m`. Any thread (the transport's I/O thread). */
void tri_deliver_remote(tr_system *sys, tr_pid to, tr_msg *m);

/* The system an inbox belongs to. */
tr_system *tri_inbox_system(const tr_inbox *in);

/* A name on this node: as tri_deliver_remote, to whoever holds `name`
 * (a dead letter, no actor, when none does). */
void tri_deliver_named(tr_system *sys, const char *name, tr_msg *m);

#endif
