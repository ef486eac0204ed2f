/* frames.h — outbound frames handed to ZeroMQ without a copy.
 *
 * The I/O thread encodes a batch into a tri_wire_buf and gives the buffer
 * itself to zmq_msg_init_data; ZeroMQ's own I/O thread frees it once the
 * bytes are on the socket, into a small process-wide pool the encoder
 * takes its next buffer from. A buffer that grew past the pool's size (a
 * batch holding one large message) is freed instead. Process-wide, not
 * per node: ZeroMQ may free a frame after the node that sent it is gone
 * (the shared context lingers), so nothing of the node may be reached from
 * the free callback. */
#ifndef TRI_FRAMES_H
#define TRI_FRAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "wire.h"

/* tri_frames_ready — makes sure `b` (empty) has a buffer to encode into:
 * a pooled one when it has none. */
void tri_frames_ready(tri_wire_buf *b);

/* tri_frames_send — sends b->data[off..off+len) on `socket` without
 * waiting and, for an offset under 16, without copying; `b` is left empty
 * either way (its buffer now belongs to ZeroMQ, or to *pending). *pending (NULL at first) is the socket's
 * backlog of frames that found no room, sent in order before any later
 * one. Returns 0; EAGAIN when the frame joined the backlog (send it with
 * tri_frames_send_pending when the socket is writable); or another errno
 * (the frame is dropped). */
int tri_frames_send(void *socket, tri_wire_buf *b, size_t off, size_t len, void **pending);

/* tri_frames_send_pending — sends the backlog, oldest first, until the
 * socket is full; true when none is left. */
bool tri_frames_send_pending(void *socket, void **pending);

/* tri_frames_drop — drops the whole backlog. */
void tri_frames_drop(void **pending);

#endif
