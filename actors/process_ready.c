/* process_ready.c — the child's side of a node child: tr_node_report_ready
 * (troupe/process.h). Public API only: it is what any program embedding
 * troupe could do by hand. */
#include <stdlib.h>
#include <string.h>

#include "troupe.h"

#define READY_TYPE "tr.process.ready" /* process.c answers it */

/* Waits until node `name` is up here (connecting to it at `endpoint`
 * unless it is up already), at most timeout_ms. */
static int wait_parent(tr_system *sys, tr_node *n, const char *name, const char *endpoint,
                       int64_t timeout_ms, uint32_t *id)
{
    tr_inbox *ib;
    int rc = tr_inbox_new(sys, &ib);
    if (rc != TR_OK) return rc;
    tr_ref ref;
    /* watch first, then look: an up that comes in between is not missed */
    rc = tr_inbox_monitor_node(ib, name, &ref);
    if (rc == TR_OK && tr_node_id(n, name, id) != TR_OK) {
        rc = tr_node_connect(n, &(tr_node_peer){.endpoint = endpoint});
        while (rc == TR_OK && tr_node_id(n, name, id) != TR_OK) {
            const tr_msg *m;
            rc = tr_inbox_recv(ib, &m, timeout_ms); /* each event: at most the whole time */
        }
    }
    tr_inbox_destroy(&ib);
    return rc;
}

tr_err tr_node_report_ready(tr_system *sys, tr_pid root, int64_t timeout_ms)
{
    const char *endpoint = getenv(TR_ENV_PARENT_ENDPOINT), *parent = getenv(TR_ENV_PARENT_NODE),
               *pid_text = getenv(TR_ENV_PARENT_PID), *me = getenv(TR_ENV_NODE_NAME);
    if (!sys || tr_pid_is_nil(root)) return TR_EINVAL;
    if (!endpoint || !parent || !pid_text || !me) return TR_ENOENT;
    tr_node *n = tr_node_of(sys);
    if (!n || strcmp(tr_node_name(n), me) != 0) return TR_ESTATE;
    tr_pid actor;
    uint32_t id = 0;
    if (tr_pid_parse(pid_text, &actor) != TR_OK) return TR_EINVAL;
    int rc = wait_parent(sys, n, parent, endpoint, timeout_ms, &id);
    if (rc != TR_OK) return rc;
    if (actor.node != id) return TR_EINVAL; /* the pid is not of that node */
    return tr_system_send(sys, actor, tr_atom_from(READY_TYPE), &root, sizeof root);
}
