/* platform.h — the few machine-level helpers the core needs, in one place. */
#ifndef TRI_PLATFORM_H
#define TRI_PLATFORM_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define TRI_CACHE_LINE 64

/* Tell the CPU we are spinning (cheaper for the sibling hyper-thread and
 * for the memory bus than a bare loop). */
static inline void tri_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* Monotonic nanoseconds from the real clock (vDSO: no system call). */
static inline int64_t tri_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The absolute time `ms` from now on clock `clk`, for timed waits. */
static inline struct timespec tri_timespec_after(clockid_t clk, int64_t ms)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    int64_t ns = ts.tv_nsec + (ms % 1000) * 1000000;
    ts.tv_sec += ms / 1000 + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    return ts;
}

#define TRI_UNUSED(x) ((void)(x))
#define TRI_LIKELY(x) __builtin_expect(!!(x), 1)
#define TRI_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif
