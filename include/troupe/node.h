/** @file
 * troupe/node.h — nodes: systems that reach each other over ZeroMQ.
 *
 * tr_node_start makes a system a node: it binds endpoints (inproc://,
 * ipc://, tcp://) and connects to peers, and from then on tr_send,
 * tr_send_msg, tr_call, tr_reply, tr_monitor, tr_link, tr_send_exit and
 * "name@node" sends reach actors of other nodes exactly as local ones,
 * with Erlang's semantics:
 *   - messages from one actor to another arrive in send order, whichever
 *     nodes they live on;
 *   - when the connection to a node is lost, every monitor of an actor
 *     there fires and every link with one breaks with reason
 *     TR_EXIT_NOCONNECTION, and every call waiting for one of them is
 *     answered "tr.down" (noconnection) at once;
 *   - a message that cannot be delivered becomes a dead letter with its
 *     reason (tr_dead_reason): node down, no route, too big; a sender whose
 *     peer's queue is full gets TR_EFULL (answers and signals are never
 *     refused).
 *
 * Pids. A node's id (tr_pid.node) is a random 32-bit number drawn when its
 * system was created, the same in every process, checked unique when
 * nodes meet. A pid therefore names its actor anywhere in the cluster,
 * also inside a message payload copied as bytes: a pid node B received
 * from node C and passes to A reaches C's actor from A.
 *
 * Cluster. Connecting to one node of a cluster is enough: nodes tell each
 * other whom they know, and every node connects to every other (a full
 * mesh, as Erlang's distribution). A node that is lost and comes back is
 * connected again, with backoff; a restarted node is a new node (a new
 * id): pids of its previous incarnation stay dead.
 *
 * Failure detection. On tcp and ipc, ZeroMQ's own heartbeats (ZMTP PING,
 * with ZMQ_HEARTBEAT_IVL/TIMEOUT/TTL set on every socket) tell a silent
 * peer from a quiet one: they cost no troupe frames and are not delayed by
 * full queues. A peer that does not answer within the timeout is lost. On
 * inproc a node is lost when it is stopped (it says so: BYE).
 *
 * Security. Every tcp link uses CURVE (encryption and authentication by
 * public key) unless the node is explicitly insecure; a node accepts only
 * the public keys on its allowlist, and a key bound to a node name (in its
 * key file's metadata) only for that name. A node refuses to bind tcp on a
 * non-loopback address without keys unless insecure is set. See
 * troupe/keys.h and `troupe keygen`. */
#ifndef TROUPE_NODE_H
#define TROUPE_NODE_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/actor.h"
#include "troupe/call.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A system's presence on the network (tr_node_start). Opaque. */
typedef struct tr_node tr_node;

/** A peer to connect to: its endpoint and, for CURVE over tcp, its public
 * key (40 Z85 characters, or the path of a .pub key file). */
typedef struct tr_node_peer {
    const char *endpoint;   /**< where it listens */
    const char *public_key; /**< its CURVE public key, or NULL */
} tr_node_peer;

/** Options for tr_node_start. Strings are copied. */
typedef struct tr_node_opts {
    /** The node's name, unique in the cluster: 1 to 255 printable bytes,
     * conventionally "<name>@<host>" ("kv@host1"). */
    const char *name;
    /**@{*/
    /** Endpoints to bind ("tcp://127.0.0.1:7101", "ipc:///run/kv.sock",
     * "inproc://kv"); a tcp port of * picks a free one (tr_node_endpoint
     * tells which). At least one: every node is reached by the others
     * through its own endpoint (each direction of a pair has its own
     * connection, answers included), so a node that listened nowhere
     * could send but hear nothing back. Departs from Erlang, whose one
     * connection per pair carries both directions. */
    const char *const *listen;
    size_t nlisten;
    /**@}*/
    /**@{*/
    /** Seed peers to connect to. */
    const tr_node_peer *peers;
    size_t npeers;
    /**@}*/
    /**@{*/
    /** CURVE: this node's secret key file (written by `troupe keygen`;
     * refused if group or others can read it), and the public keys it
     * accepts: .pub files or directories of them. */
    const char *secret_key_file;
    const char *const *allow;
    size_t nallow;
    /**@}*/
    /** Accept tcp without CURVE, even on non-loopback addresses. */
    bool insecure;
    /** Heartbeat interval and timeout on tcp/ipc (0: 1000 and 5000 ms). */
    /**@{*/
    int64_t heartbeat_ms, heartbeat_timeout_ms;
    /**@}*/
    /** The largest message payload accepted from or sent to other nodes
     * (0: TR_MSG_MAX). */
    uint32_t max_message;
    /**@{*/
    /** Bound of each peer's outbound queue, in messages and bytes (0:
     * 100,000 and 64 MiB; at most 8,388,608 and 512 GiB, TR_EINVAL
     * beyond): past it, sends to that peer get TR_EFULL. Behind the queue,
     * ZeroMQ holds at most one 64 KiB batch per 64 KiB of queue_bytes (2
     * to 1000 frames), then the kernel's socket buffers: what a stalled
     * peer can pin is at most about three times queue_bytes (and at
     * least a few hundred KiB), plus those. */
    uint32_t queue_messages;
    uint64_t queue_bytes;
    /**@}*/
} tr_node_opts;

/**@{*/
/** The largest queue_messages and queue_bytes tr_node_start accepts. */
#define TR_NODE_QUEUE_MESSAGES_MAX (UINT32_C(1) << 23)
#define TR_NODE_QUEUE_BYTES_MAX (UINT64_C(1) << 39)
/**@}*/

/** tr_node_start — makes `sys` a node named opts->name: binds its
 * endpoints, starts its I/O thread, connects to its seed peers (in the
 * background: tr_node_wait_peers waits for them). The node lives until
 * tr_node_stop or tr_system_destroy. Errors: TR_EINVAL (a bad name,
 * endpoint or option, no listen endpoint; the reason is logged), TR_ESTATE (already a node),
 * TR_EAGAIN (an endpoint is in use, a thread cannot start), TR_EFAILED
 * (a key file is missing, malformed or readable by others; a non-loopback
 * tcp endpoint without keys and without insecure), TR_ENOMEM. Any
 * non-actor thread. */
tr_err tr_node_start(tr_system *sys, const tr_node_opts *opts, tr_node **out);

/** tr_node_connect — connects to one more peer (as a seed). Returns at
 * once. Errors: TR_EINVAL, TR_ESTOPPED. Any thread. */
tr_err tr_node_connect(tr_node *node, const tr_node_peer *peer);

/** tr_node_of — the node a system is, or NULL. Any thread. */
tr_node *tr_node_of(tr_system *sys);

/** tr_node_name — the node's name (valid while the node lives). */
const char *tr_node_name(const tr_node *node);

/** tr_node_endpoint — the i-th bound endpoint as it was bound (a tcp port
 * of * resolved), or NULL past the last. */
const char *tr_node_endpoint(const tr_node *node, size_t i);

/** tr_node_id — the id a connected (or once connected) node of that name
 * has here. Errors: TR_ENOENT (no such node is up). Any thread. */
tr_err tr_node_id(tr_node *node, const char *name, uint32_t *id);

/** tr_node_wait_peers — waits up to timeout_ms until at least `n` other
 * nodes are up. Errors: TR_ETIMEDOUT. Any non-actor thread. */
tr_err tr_node_wait_peers(tr_node *node, size_t n, int64_t timeout_ms);

/** Counters of a node. */
typedef struct tr_node_stats {
    uint32_t peers_up;          /**< other nodes connected now */
    /**@{*/
    uint64_t frames_out, frames_in; /**< frames sent, received */
    /**@}*/
    /**@{*/
    uint64_t messages_out, messages_in; /**< records carried */
    /**@}*/
    /**@{*/
    uint64_t bytes_out, bytes_in; /**< bytes sent, received */
    /**@}*/
    uint64_t refused_full;      /**< sends refused with TR_EFULL */
    uint64_t dead_node_down;    /**< dead letters: node down or no route */
    uint64_t bad_frames;        /**< malformed frames dropped */
    uint64_t stale_frames;      /**< well-formed frames of a session already
                                   ended (in flight when it ended): dropped */
    uint64_t handshakes_refused; /**< connections refused (key, name, version) */
    uint64_t io_takeovers;      /**< times the node's sockets were handed to
                                   its standby thread because an actor's
                                   callback ran a time slice on the I/O
                                   thread (README, "Nodes": the I/O thread
                                   runs the actors it wakes) */
} tr_node_stats;

/** tr_node_get_stats — fills *out. Any thread. Errors: TR_EINVAL. */
tr_err tr_node_get_stats(tr_node *node, tr_node_stats *out);

/** tr_node_notify_room — what an actor does when a send to `to` (an actor
 * on another node) answered TR_EFULL: the queue to that node is at its
 * bound (queue_messages / queue_bytes) because the node, or the network,
 * takes less than this node sends. An actor must not spin on TR_EFULL
 * (retrying in a loop of its own messages costs a worker for nothing);
 * instead it asks for one "tr.room" message (tr_room_atom(); payload: the
 * node id, a uint32_t; sender nil), which arrives once the queue has
 * drained below half its bound, or once the node is lost (its sends are
 * then dead letters with reason "node down", no longer refused). Asking
 * again before it arrives changes nothing; the notice is one-shot. Erlang
 * suspends a process that sends to a busy distribution port; an actor
 * cannot be suspended, so it is told instead.
 * Errors: TR_ENOTACTOR (not an actor's ctx), TR_EINVAL (the system is not
 * a node, or `to` is on this node), TR_ENOROUTE (no such node known),
 * TR_ENOMEM. Actor context only. */
tr_err tr_node_notify_room(tr_ctx *ctx, tr_pid to);

struct tr_inbox;

/** tr_inbox_notify_room — the same for a non-actor thread: "tr.room"
 * arrives in `inbox`. Errors: as tr_node_notify_room (TR_EINVAL for a
 * NULL inbox). Any thread. */
tr_err tr_inbox_notify_room(struct tr_inbox *inbox, tr_pid to);

/** The type of the message tr_node_notify_room asks for: "tr.room". */
tr_atom tr_room_atom(void);

/** tr_monitor_node — the calling actor receives a "tr.nodeup" message each
 * time a node (named `name`, or any node when NULL) connects and a
 * "tr.nodedown" message each time one is lost, until tr_demonitor_node;
 * read them with tr_node_event_decode. As net_kernel:monitor_nodes. Errors:
 * TR_ESTATE (the system is not a node), TR_ENOMEM. Actor context only. */
tr_err tr_monitor_node(tr_ctx *ctx, const char *name, tr_ref *out);

/** tr_demonitor_node — stops those messages. Errors: TR_ENOENT. */
tr_err tr_demonitor_node(tr_ctx *ctx, tr_ref ref);

/** tr_inbox_monitor_node — the same for a non-actor thread's inbox. */
tr_err tr_inbox_monitor_node(struct tr_inbox *inbox, const char *name, tr_ref *out);

/** A node event, as tr_node_event_decode reads it. */
typedef struct tr_node_event {
    bool up;          /**< "tr.nodeup" (true) or "tr.nodedown" */
    uint32_t node;    /**< its id (tr_pid.node of its actors) */
    char name[256];   /**< its name */
    const char *reason; /**< down: "connection closed", "heartbeat timeout",
                         * "bye", "node restarted", ...; points into the
                         * message */
} tr_node_event;

/** tr_node_event_decode — decodes a "tr.nodeup"/"tr.nodedown" message.
 * Errors: TR_EINVAL. */
tr_err tr_node_event_decode(const tr_msg *msg, tr_node_event *out);

/**@{*/
/** tr_nodeup_atom — "tr.nodeup"; tr_nodedown_atom — "tr.nodedown". */
tr_atom tr_nodeup_atom(void);
tr_atom tr_nodedown_atom(void);
/**@}*/

/** tr_node_stop — tells every peer this node is going (they see it down at
 * once, reason "bye"), closes its sockets and joins its I/O thread; sends
 * to other nodes then become dead letters. Sets *node to NULL. Called by
 * tr_system_destroy if not before. Any non-actor thread. */
void tr_node_stop(tr_node **node);

#ifdef __cplusplus
}
#endif
#endif
