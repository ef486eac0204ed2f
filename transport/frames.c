/* frames.c — the zero-copy send path and its buffer pool (frames.h). */
#include "frames.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "tsan.h"

/* A batch closes at 64 KiB (io.c), so a buffer of this size holds any
 * batch of small records without growing. */
#define FRAME_CAP (96 * 1024)
/* Buffers kept for reuse: enough for frames in flight on a busy link;
 * the rest go back to malloc. */
#define POOL_MAX 32

static struct {
    pthread_mutex_t mu;
    void *bufs[POOL_MAX];
    int n;
} pool = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

/* A frame starts a few bytes into its buffer (the batch header is placed
 * right before its records, wire.c), and ZeroMQ gives the free callback
 * only the frame's start and one hint: the hint points into one of these
 * two rows, its row saying whether the buffer is a pooled one, its column
 * how far into the buffer the frame starts. */
#define MAX_OFFSET 16
static char hints[2][MAX_OFFSET];

static void frame_free(void *frame, void *hint)
{
    /* libzmq calls this once it is done with the bytes, on whichever
     * thread drops the last reference; the buffer is then reused by any
     * node's I/O thread (the pool is process-wide): acquire what the
     * sender released, or TSan sees the next writer race the last one */
    TRI_TSAN_ACQUIRE(frame);
    char *h = hint;
    bool pooled = h >= hints[1] && h < hints[1] + MAX_OFFSET;
    void *data = (char *)frame - (h - hints[pooled]);
    if (pooled) {
        pthread_mutex_lock(&pool.mu);
        if (pool.n < POOL_MAX) {
            pool.bufs[pool.n++] = data;
            data = NULL;
        }
        pthread_mutex_unlock(&pool.mu);
    }
    free(data);
}

__attribute__((destructor)) static void pool_release(void)
{
    pthread_mutex_lock(&pool.mu);
    while (pool.n) free(pool.bufs[--pool.n]);
    pthread_mutex_unlock(&pool.mu);
}

void tri_frames_ready(tri_wire_buf *b)
{
    if (b->data) return;
    void *d = NULL;
    pthread_mutex_lock(&pool.mu);
    if (pool.n) d = pool.bufs[--pool.n];
    pthread_mutex_unlock(&pool.mu);
    if (!d) d = malloc(FRAME_CAP);
    if (!d) return; /* the encoder's own growth reports ENOMEM */
    b->data = d;
    b->cap = FRAME_CAP;
    b->len = 0;
}

/* A frame waiting for room on its socket, in FIFO order. */
typedef struct held {
    zmq_msg_t msg;
    struct held *next;
} held;

int tri_frames_send(void *socket, tri_wire_buf *b, size_t off, size_t len, void **pending)
{
    zmq_msg_t msg;
    if (off < MAX_OFFSET) {
        void *hint = &hints[b->cap == FRAME_CAP][off];
        if (zmq_msg_init_data(&msg, b->data + off, len, frame_free, hint) != 0) return ENOMEM;
        *b = (tri_wire_buf){0};
    } else { /* not one of ours: copied */
        if (zmq_msg_init_size(&msg, len) != 0) return ENOMEM;
        memcpy(zmq_msg_data(&msg), b->data + off, len);
        b->len = 0;
    }
    TRI_TSAN_RELEASE(zmq_msg_data(&msg));
    /* behind frames already waiting, this one waits too (order) */
    if (!*pending && zmq_msg_send(&msg, socket, ZMQ_DONTWAIT) >= 0) return 0;
    int err = *pending ? EAGAIN : zmq_errno();
    held *h = err == EAGAIN ? malloc(sizeof *h) : NULL;
    if (!h) {
        zmq_msg_close(&msg);
        return err == EAGAIN ? ENOMEM : err;
    }
    zmq_msg_init(&h->msg);
    zmq_msg_move(&h->msg, &msg);
    h->next = NULL;
    held **tail = (held **)pending;
    while (*tail) tail = &(*tail)->next;
    *tail = h;
    return EAGAIN;
}

bool tri_frames_send_pending(void *socket, void **pending)
{
    for (held *h; (h = *pending);) {
        if (zmq_msg_send(&h->msg, socket, ZMQ_DONTWAIT) < 0) return false;
        *pending = h->next;
        free(h);
    }
    return true;
}

void tri_frames_drop(void **pending)
{
    for (held *h; (h = *pending);) {
        *pending = h->next;
        zmq_msg_close(&h->msg);
        free(h);
    }
}
