/* book.h — what a peer node owes this node when the connection to it is
 * lost: the bookkeeping behind Erlang's "noconnection".
 *
 * Per peer, the transport's I/O thread notes every runtime signal and call
 * that crosses the connection (outbound before encoding, inbound after
 * decoding): monitors our actors hold on the peer's, links between ours and
 * its, our calls it has not answered, and its monitors on our actors. When
 * the peer is lost, tri_book_lost answers for the peer: every monitor
 * fires ("tr.down", noconnection), every link breaks (exit signal,
 * noconnection), every pending call is answered "tr.down" (noconnection),
 * every stub of a child there ends (noconnection), and our actors forget
 * the peer's monitors. Nothing here is thread-safe:
 * one thread (the peer's owner) calls it all. */
#ifndef TRI_BOOK_H
#define TRI_BOOK_H

#include <stdint.h>

#include "../actors/transport.h"

typedef struct tri_book tri_book;

/* A new, empty book; NULL when out of memory. */
tri_book *tri_book_new(void);
void tri_book_free(tri_book *b);

/* Notes `m` (dest_serial set) leaving for `to` on the peer. `now_ns` is
 * the system's clock (a call's deadline is kept to forget it after). */
void tri_book_outbound(tri_book *b, tr_pid to, const tr_msg *m, int64_t now_ns);

/* Notes `m` arriving from the peer for the local pid `to`. */
void tri_book_inbound(tri_book *b, tr_pid to, const tr_msg *m);

/* The peer is lost: answers for it into `sys` (see above) and empties the
 * book. */
void tri_book_lost(tri_book *b, tr_system *sys);

/* How many entries the book holds (tests, introspection). */
typedef struct tri_book_counts {
    uint32_t monitors, links, calls, watchers, children;
} tri_book_counts;
tri_book_counts tri_book_count(const tri_book *b);

#endif
