/* logcap.c — see logcap.h. */
#include "logcap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char *lines[T_LOG_MAX];
static size_t count;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void t_log_keep(const char *line)
{
    if (getenv("TEST_LOG")) fprintf(stderr, "log: %s\n", line);
    pthread_mutex_lock(&mu);
    if (count < T_LOG_MAX) lines[count++] = strdup(line);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

void t_log_sink(void *user, tr_log_level level, const char *line)
{
    (void)user, (void)level;
    t_log_keep(line);
}

void t_log_clear(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < count; i++) free(lines[i]);
    count = 0;
    pthread_mutex_unlock(&mu);
}

bool t_log_wait(const char *a, const char *b, int64_t ms, char *out, size_t n)
{
    int64_t end = now_ms() + ms;
    pthread_mutex_lock(&mu);
    for (size_t seen = 0;;) {
        for (; seen < count; seen++)
            if (lines[seen] && strstr(lines[seen], a) && (!b || strstr(lines[seen], b))) {
                if (out) snprintf(out, n, "%s", lines[seen]);
                pthread_mutex_unlock(&mu);
                return true;
            }
        int64_t left = end - now_ms();
        if (left <= 0) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
        pthread_cond_timedwait(&cv, &mu, &ts);
    }
    pthread_mutex_unlock(&mu);
    return false;
}
