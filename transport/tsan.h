/* tsan.h — telling ThreadSanitizer about libzmq's hand-offs.
 *
 * libzmq is not built with ThreadSanitizer, so the synchronisation inside
 * its lock-free pipes is invisible to it: over inproc, a frame one node's
 * I/O thread wrote is read by another's with no happens-before TSan can see,
 * and every such read would be reported. Before a frame leaves we release
 * its bytes, after one arrives we acquire them: exactly the ordering libzmq
 * provides. No-ops in other builds. */
#ifndef TRI_TSAN_H
#define TRI_TSAN_H

#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define TRI_TSAN_RELEASE(p) __tsan_release((void *)(p))
#define TRI_TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#else
#define TRI_TSAN_RELEASE(p) ((void)(p))
#define TRI_TSAN_ACQUIRE(p) ((void)(p))
#endif

#endif
