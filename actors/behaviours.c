/* behaviours.c — the process-wide behaviour table (troupe/behaviours.h).
 *
 * Few entries, registered at start-up and looked up by name at spawn time
 * (config, remote spawn): a mutex-protected array is enough, and is never
 * shrunk, so an entry once found stays valid. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "troupe.h"

typedef struct entry {
    char *name;
    const tr_behaviour *beh;
} entry;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static entry *table;
static size_t n, cap;

static bool valid_name(const char *s)
{
    if (!s || !*s) return false;
    size_t len = 0;
    for (; s[len]; len++)
        if ((unsigned char)s[len] < 0x21 || (unsigned char)s[len] > 0x7e || len >= 255) return false;
    return true;
}

tr_err tr_behaviour_register(const char *name, const tr_behaviour *beh)
{
    if (!valid_name(name) || !beh || !beh->handle) return TR_EINVAL;
    pthread_mutex_lock(&mu);
    int rc = TR_OK;
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0) {
            rc = table[i].beh == beh ? TR_OK : TR_EEXIST;
            pthread_mutex_unlock(&mu);
            return rc;
        }
    if (n == cap) {
        size_t c = cap ? cap * 2 : 16;
        entry *t = realloc(table, c * sizeof *t);
        if (!t) {
            pthread_mutex_unlock(&mu);
            return TR_ENOMEM;
        }
        table = t;
        cap = c;
    }
    char *copy = strdup(name);
    if (!copy) rc = TR_ENOMEM;
    else table[n++] = (entry){copy, beh};
    pthread_mutex_unlock(&mu);
    return rc;
}

const tr_behaviour *tr_behaviour_find(const char *name)
{
    if (!name) return NULL;
    const tr_behaviour *found = NULL;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n && !found; i++)
        if (strcmp(table[i].name, name) == 0) found = table[i].beh;
    pthread_mutex_unlock(&mu);
    return found;
}

const char *tr_behaviour_name_of(const tr_behaviour *beh)
{
    const char *found = NULL;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n && !found; i++)
        if (table[i].beh == beh) found = table[i].name;
    pthread_mutex_unlock(&mu);
    return found;
}
