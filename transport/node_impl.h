/* node_impl.h — a node's internals, shared by node.c (life cycle and the
 * public API), peers.c (the peer table and the send path, any thread) and
 * io.c (the I/O thread, which owns every ZeroMQ socket of the node).
 *
 * Threads. Senders (workers, the timer thread, foreign threads, actors
 * running on the I/O thread) only read the peer table and push into a
 * peer's outbound queue; everything else about a peer (its state, sockets,
 * caches, bookkeeping) belongs to whoever runs the passes, under io_mu:
 * the I/O thread, or its standby (io_thread.c). "The I/O thread" below
 * means that one. A peer's state as senders see it is one atomic. */
#ifndef TRI_NODE_IMPL_H
#define TRI_NODE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../actors/mailbox.h"
#include "../actors/transport.h"
#include "book.h"
#include "troupe/node.h"
#include "wire.h"

/* A peer's queue load word (peer.q_load): messages above Q_COUNT_SHIFT,
 * bytes below. The limits are capped (node.c) so that even every thread's
 * add in flight past a limit cannot carry the bytes into the count. */
#define Q_COUNT_SHIFT 40
#define Q_BYTES_MASK ((UINT64_C(1) << Q_COUNT_SHIFT) - 1)
#define Q_ONE_MESSAGE (UINT64_C(1) << Q_COUNT_SHIFT)
#define Q_MAX_MESSAGES TR_NODE_QUEUE_MESSAGES_MAX
#define Q_MAX_BYTES TR_NODE_QUEUE_BYTES_MAX

/* A peer's state as senders see it. */
enum peer_state {
    PEER_CONNECTING = 0, /* dialled, no answer yet: sends wait in the queue */
    PEER_UP = 1,         /* sends go out */
    PEER_DOWN = 2,       /* lost (backoff before redialling): sends are dead letters */
    PEER_GONE = 3,       /* a previous incarnation, or refused: dead letters for good */
};

typedef struct peer peer;

/* One queued message for a peer: the message and whom it is for. A pool
 * block of its own, so the message itself stays as the sender made it. */
typedef struct outq_item {
    tri_node link; /* must stay first */
    tr_pid to;     /* a named send: {node, 0, 0} */
    tr_msg *m;
    char *name;    /* a named send's name (a pool block), else NULL */
    bool counted;  /* against the queue's bound */
} outq_item;

/* An inbound session: a routing id on one of our ROUTERs that sent a valid
 * HELLO; frames with any other routing id are dropped. */
typedef struct in_session {
    uint8_t rid[16];
    size_t rid_len;
    void *router;
    peer *p;
} in_session;

struct peer {
    /* ---- senders' (read-mostly) ---- */
    uint32_t id;           /* its node id; 0 while a seed is dialled unknown */
    _Atomic int state;     /* enum peer_state */
    tri_mailbox q;         /* outbound messages (MPSC), consumed by the I/O thread */
    /* user messages queued (bounded): the count in the top 24 bits, the
     * bytes in the low 40, so a sender checks both with one atomic add */
    _Atomic uint64_t q_load;
    peer *ready_next;      /* in the node's ready list (under ready_mu) */
    bool in_ready;         /* under ready_mu */
    /* actors waiting for room in the queue (tr_node_notify_room), under
     * the node's room_mu; `room_wanted` tells the I/O thread to look */
    _Atomic bool room_wanted;
    tr_pid *room_waiters;
    size_t nroom, caproom;
    /* ---- the I/O thread's ---- */
    /* written by the I/O thread only, under names_mu (tri_peer_set_name;
     * id too, in tri_peer_rekey): senders' look-ups by name read both
     * under it */
    char name[256];
    char **endpoints;      /* where it listens (HELLO, WELCOME, gossip) */
    size_t nendpoints;
    uint8_t pubkey[32];
    bool has_key;
    char dial_endpoint[512]; /* the endpoint our DEALER is connected to */
    void *dealer;          /* our outbound socket to it (a new one per session) */
    void *dealer_mon;      /* its monitor (PAIR), tcp/ipc only */
    int dealer_fd, mon_fd; /* their ZMQ_FDs */
    bool dealer_dirty, mon_dirty; /* to be read before sleeping (io.c, service) */
    uint8_t session[16];   /* our DEALER's routing id */
    bool welcomed;         /* our HELLO was answered WELCOME */
    bool in_hello;         /* it has HELLOed us (an inbound session) */
    int64_t hello_at;      /* when our HELLO went (handshake timeout) */
    int64_t retry_at;      /* DOWN: when to dial again */
    int64_t backoff_ms;
    void *enc;             /* wire encoder state (outbound atom cache) */
    void *dec;             /* wire decoder state (inbound atom cache) */
    bool dec_reset;        /* a new inbound session: a fresh decoder after
                            * the frame being decoded (io.c) */
    tri_book *book;
    void *pending;         /* a frame (zmq_msg_t *) waiting for room */
    bool scheduled;        /* consumer side: in the ready list or being flushed */
    peer *next_all;        /* every peer, for the I/O thread's walks */
};

/* A node-event subscriber (tr_monitor_node). */
typedef struct node_sub {
    struct node_sub *next;
    tr_pid pid;
    uint64_t ref;
    char *name; /* NULL: every node */
} node_sub;

/* A command for the I/O thread from another thread. */
typedef struct node_cmd {
    struct node_cmd *next;
    int kind; /* CMD_CONNECT, CMD_STOP */
    tr_node_peer peer;
    char *endpoint, *key;
} node_cmd;

enum { CMD_CONNECT = 1, CMD_STOP = 2 };

/* A pass's scratch, kept from pass to pass by whoever holds io_mu. */
typedef struct tri_io_scratch {
    tri_wire_limits lim;
    tri_wire_buf out;   /* the frame being packed */
    struct pollfd *fds; /* the poll set (io.c, poll_set) */
    peer **owners;      /* the peer of each descriptor */
    uint8_t *kinds;     /* what each descriptor is */
    size_t cap;
} tri_io_scratch;

/* The peer table: node id -> peer, open addressing, one writer (the I/O
 * thread), lock-free readers; grown by copy, old tables kept until the node
 * is freed (a reader may still hold one). */
typedef struct peer_table {
    uint32_t cap;
    _Atomic(peer *) slot[];
} peer_table;

struct tr_node {
    tr_system *sys;
    char *name;
    uint32_t id;
    /* options, copied */
    tr_node_opts opts;
    char **listen;
    size_t nlisten;
    char **bound; /* the endpoints as bound (tcp port * resolved) */
    uint32_t max_frame;
    bool curve;   /* keys were given */
    uint8_t public_key[32], secret_key[32];
    void *allow;  /* allowlist (keys.h) */
    /* sockets (I/O thread) */
    void *zctx;
    void **routers;
    int *router_fds;    /* their ZMQ_FDs */
    bool routers_dirty; /* to be read before sleeping (io.c, service) */
    bool *router_curve;
    /* peers */
    _Atomic(peer_table *) table;
    peer_table *retired[32];
    size_t nretired;
    peer *all;          /* I/O thread's list of every peer */
    pthread_mutex_t names_mu; /* name -> peer look-ups from senders */
    /* in-sessions by routing id (I/O thread) */
    in_session *ins;
    size_t nins, capins;
    /* the ready list: peers whose queue just became non-empty. Pushed
     * once per burst (on a queue's empty edge), so a mutex is cheap here;
     * an intrusive lock-free queue could not take a peer back while its
     * link is still the queue's tail. */
    pthread_mutex_t ready_mu;
    pthread_mutex_t room_mu; /* every peer's room_waiters (a rare path) */
    peer *ready_head, *ready_tail;
    _Atomic bool ready_any;
    /* Who runs the passes (io_thread.c): the I/O thread, which also runs
     * the actors it wakes as the scheduler's guest (core.h,
     * tri_sched_guest_attach); while one of their callbacks runs long, the
     * standby thread. Whoever holds io_mu owns every socket. */
    struct tri_worker *guest;
    pthread_mutex_t io_mu;
    tri_io_scratch scratch;    /* under io_mu */
    bool io_ended;             /* under io_mu: goodbyes said, no more passes */
    _Atomic bool reclaim;      /* the I/O thread waits for io_mu */
    pthread_mutex_t standby_mu;
    pthread_cond_t standby_cv;
    bool standby_go;           /* under standby_mu: take over */
    pthread_t standby;
    bool standby_started;
    /* waking the I/O thread */
    int efd;
    _Atomic bool io_sleeping;
    pthread_t io;
    bool io_started;
    _Atomic bool stopping;
    bool stopped;
    /* commands and node-event subscribers */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* peers_up changed */
    node_cmd *cmds, *cmds_tail;
    node_sub *subs;
    uint32_t peers_up;
    /* stats (relaxed atomics) */
    _Atomic uint64_t frames_out, frames_in, msgs_out, msgs_in, bytes_out, bytes_in;
    _Atomic uint64_t refused_full, dead_down, bad_frames, stale_frames, refused_handshakes;
    _Atomic uint64_t takeovers; /* the standby took over from the I/O thread */
};

/* peers.c */
peer *tri_peer_find(tr_node *n, uint32_t id);          /* any thread */
peer *tri_peer_find_name(tr_node *n, const char *name); /* any thread */
peer *tri_peer_add(tr_node *n, uint32_t id);            /* I/O thread */
void tri_peer_rekey(tr_node *n, peer *p, uint32_t id);  /* I/O thread: a seed's id is known */
void tri_peer_set_name(tr_node *n, peer *p, const char *name); /* I/O thread */
int tri_node_send(void *t, tr_pid to, tr_msg *m);
int tri_node_send_named(void *t, const char *node, const char *name, tr_msg *m);
void tri_node_wake(tr_node *n);
void tri_peer_schedule(tr_node *n, peer *p);
peer *tri_ready_take(tr_node *n);
void tri_peer_dead_letters(tr_node *n, peer *p, tr_dead_reason why); /* I/O thread */
outq_item *tri_outq_pop(peer *p);
bool tri_outq_marked_empty(peer *p);
bool tri_outq_idle(peer *p);
void tri_outq_done(peer *p, outq_item *it, uint64_t *load);
void tri_outq_settle(tr_node *n, peer *p, uint64_t *load);
void tri_peer_table_free(tr_node *n);

/* io.c: one pass of the node's I/O (commands, flushing, timers, one
 * poll, receiving), by the holder of io_mu. `guest`: the I/O thread's
 * scheduler slot (NULL for the standby): the pass does not sleep while
 * actors wait to run on it. Returns false once the node stops. */
void tri_node_io_init(tr_node *n);
bool tri_node_io_pass(tr_node *n, struct tri_worker *guest);
void tri_node_io_end(tr_node *n);   /* goodbyes, scratch freed; under io_mu */
int tri_node_bind(tr_node *n);       /* before the I/O thread starts */
void tri_node_close(tr_node *n);     /* after it stopped */

/* io_thread.c: the I/O thread and its standby */
int tri_node_threads_start(tr_node *n);
void tri_node_threads_join(tr_node *n);

/* node.c */
void tri_node_event(tr_node *n, peer *p, bool up, const char *reason); /* I/O thread */

#endif
