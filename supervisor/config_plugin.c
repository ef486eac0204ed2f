/* config_plugin.c — opening plugins (troupe/config.h, "Plugins").
 *
 * A process-wide list remembers every object whose entry point ran, with
 * its outcome: dlopen hands back the same handle for the same object, so
 * a plugin named by two configs (or twice by one) is initialised once and
 * later loads report the first outcome. Objects are never closed once
 * their entry point ran: the behaviour table may point into them. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"

typedef struct loaded {
    struct loaded *next;
    void *handle;
    int rc;
    char why[256];
} loaded;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static loaded *plugins;

int tri_plugin_load(const char *path, const char *config_file, char *why, size_t ws)
{
    if (why && ws) why[0] = '\0';
    pthread_mutex_lock(&mu);
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        if (why && ws) snprintf(why, ws, "cannot load: %s", e ? e : "unknown error");
        pthread_mutex_unlock(&mu);
        return TR_EINVAL;
    }
    for (loaded *l = plugins; l; l = l->next)
        if (l->handle == h) {
            dlclose(h); /* drops the reference this dlopen added */
            if (l->rc && why && ws) snprintf(why, ws, "%s", l->why);
            int rc = l->rc;
            pthread_mutex_unlock(&mu);
            return rc;
        }
    const uint32_t *abi = dlsym(h, "troupe_plugin_abi");
    int (*init)(const tr_plugin_info *);
    *(void **)&init = dlsym(h, "troupe_plugin_init");
    if (!abi || !init) {
        if (why && ws)
            snprintf(why, ws,
                     "not a troupe plugin: it does not export %s (see troupe/config.h, "
                     "\"Plugins\")",
                     !abi ? "troupe_plugin_abi" : "troupe_plugin_init");
        dlclose(h);
        pthread_mutex_unlock(&mu);
        return TR_EINVAL;
    }
    if (*abi != TROUPE_PLUGIN_ABI) {
        if (why && ws)
            snprintf(why, ws,
                     "built for plugin ABI %u, but this troupe loads ABI %u: rebuild it against "
                     "this troupe's headers",
                     (unsigned)*abi, (unsigned)TROUPE_PLUGIN_ABI);
        dlclose(h);
        pthread_mutex_unlock(&mu);
        return TR_EINVAL;
    }
    loaded *l = calloc(1, sizeof *l);
    if (!l) {
        dlclose(h);
        pthread_mutex_unlock(&mu);
        return TR_ENOMEM;
    }
    /* room for the prefix below: the plugin's text is never cut */
    char err[sizeof l->why - sizeof "its troupe_plugin_init failed: "] = "";
    tr_plugin_info info = {TROUPE_PLUGIN_ABI, path, config_file ? config_file : "", err,
                           sizeof err};
    /* Under the lock: a plugin's init registers behaviours, which must be
     * there before any other config looks them up. */
    int rc = init(&info);
    err[sizeof err - 1] = '\0';
    l->handle = h;
    l->rc = rc ? (rc < 0 ? rc : TR_EFAILED) : TR_OK;
    if (rc)
        snprintf(l->why, sizeof l->why, "its troupe_plugin_init failed: %s",
                 err[0] ? err : tr_strerror(l->rc));
    l->next = plugins;
    plugins = l;
    if (rc && why && ws) snprintf(why, ws, "%s", l->why);
    pthread_mutex_unlock(&mu);
    return l->rc;
}
