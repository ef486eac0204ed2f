/* root.c — the root actor ("/root"), parent of everything spawned from
 * outside an actor, and the system's end.
 *
 * Foreign threads spawn under the root without running on it: they link
 * the child through an ADOPT message. To know that no ADOPT is still on its
 * way when the root wants to end, spawners count the ADOPTs they send and
 * the root counts those it handled, both under root_mu; once the root is
 * closing no new foreign spawn is admitted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"

static int root_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    tri_dead_letter(((tri_actor *)ctx)->sys, (tr_msg *)m, ((tri_actor *)ctx)->index);
    return 0;
}

const tr_behaviour tri_root_behaviour = {"root", 0, NULL, root_handle, NULL};

int tri_root_adopt(tr_system *sys, tri_actor *child)
{
    pthread_mutex_lock(&sys->root_mu);
    if (sys->root_closed) {
        pthread_mutex_unlock(&sys->root_mu);
        return TR_ESTOPPED;
    }
    int rc = tri_send_sys(sys, sys->root, sys->root_pid.serial, TRI_MSG_ADOPT, &child,
                          sizeof child);
    if (rc == TR_OK) sys->adopts_sent++;
    pthread_mutex_unlock(&sys->root_mu);
    return rc;
}

void tri_root_closing(tri_actor *root)
{
    tr_system *sys = root->sys;
    pthread_mutex_lock(&sys->root_mu);
    sys->root_closed = true;
    pthread_mutex_unlock(&sys->root_mu);
}

static bool adopts_pending(tr_system *sys)
{
    pthread_mutex_lock(&sys->root_mu);
    bool pending = sys->adopts_sent != sys->adopts_seen;
    pthread_mutex_unlock(&sys->root_mu);
    return pending;
}

bool tri_root_may_finish(tri_actor *root) { return !adopts_pending(root->sys); }

void tri_root_after_exit(tri_actor *root)
{
    tr_system *sys = root->sys;
    if (sys->root_run_mode && root->state == TRI_ST_RUNNING && root->nchildren == 0 &&
        !adopts_pending(sys))
        tri_begin_stop(root, TR_EXIT_NORMAL, NULL);
}

bool tri_root_handle_sys(tri_actor *root, tr_msg *m)
{
    tr_system *sys = root->sys;
    switch (m->kind) {
    case TRI_MSG_ADOPT: {
        tri_actor *child;
        memcpy(&child, m->data, sizeof child);
        pthread_mutex_lock(&sys->root_mu);
        sys->adopts_seen++;
        pthread_mutex_unlock(&sys->root_mu);
        tri_link_child(root, child);
        if (root->state == TRI_ST_STOPPING) tri_continue_stop(root);
        return true;
    }
    case TRI_MSG_ROOT_STOP:
        if (root->state < TRI_ST_STOPPING) tri_begin_stop(root, TR_EXIT_SHUTDOWN, NULL);
        return true;
    case TRI_MSG_ROOT_RUN:
        sys->root_run_mode = true;
        tri_root_after_exit(root);
        return true;
    case TRI_MSG_STOP_CHILD: {
        tr_pid pid;
        memcpy(&pid, m->data, sizeof pid);
        if (root->state == TRI_ST_RUNNING) tr_stop_child((tr_ctx *)root, pid);
        return true;
    }
    default:
        return false;
    }
}

void tri_root_finished(tri_actor *root)
{
    tr_system *sys = root->sys;
    bool failed = root->exit_kind == TR_EXIT_FAILURE;
    char *report = NULL;
    /* Where records were dropped from the middle (TRI_RECORDS_HEAD and
     * _TAIL), one line says how many. */
    char omitted[96] = "";
    uint64_t nomit = root->ext ? root->ext->records_omitted : 0;
    if (nomit)
        snprintf(omitted, sizeof omitted, "... %llu more failed actors on the way, not listed",
                 (unsigned long long)nomit);
    if (failed && root->ext) {
        size_t n = 1 + strlen(omitted) + 1;
        for (tri_record *r = root->ext->records; r; r = r->next) n += strlen(r->line) + 1;
        report = malloc(n);
        if (report) {
            size_t at = 0, i = 0;
            for (tri_record *r = root->ext->records; r; r = r->next, i++) {
                if (nomit && i == TRI_RECORDS_HEAD) at += (size_t)sprintf(report + at, "%s\n", omitted);
                size_t l = strlen(r->line);
                memcpy(report + at, r->line, l);
                report[at + l] = '\n';
                at += l + 1;
            }
            report[at] = '\0';
        }
    }
    /* one log line per failed actor: a sink gets lines, never blocks */
    if (failed && tri_log_enabled(TR_LOG_ERROR)) {
        tri_log(TR_LOG_ERROR, "the root failed; every failure on the way:");
        size_t i = 0;
        for (tri_record *r = root->ext ? root->ext->records : NULL; r; r = r->next, i++) {
            if (nomit && i == TRI_RECORDS_HEAD) tri_log(TR_LOG_ERROR, "  %s", omitted);
            tri_log(TR_LOG_ERROR, "  %s", r->line);
        }
    }
    atomic_store_explicit(&root->live_serial, 0, memory_order_release);
    atomic_store_explicit(&root->serial, 0, memory_order_release);
    pthread_mutex_lock(&sys->end_mu);
    sys->report = report;
    sys->result = failed ? TR_EFAILED : TR_OK;
    sys->ended = true;
    pthread_cond_broadcast(&sys->end_cv);
    pthread_mutex_unlock(&sys->end_mu);
}

/* Frees what the root's incarnation holds; at system destruction. */
void tri_root_free(tri_actor *root)
{
    if (root->ext) {
        for (tri_record *r = root->ext->records, *n; r; r = n) {
            n = r->next;
            free(r);
        }
        free(root->ext->exit_text);
        free(root->ext->last_failure);
        free(root->ext);
        root->ext = NULL;
    }
}

tr_err tr_system_stop_child(tr_system *sys, tr_pid child)
{
    if (!sys || tr_pid_is_nil(child)) return TR_EINVAL;
    pthread_mutex_lock(&sys->root_mu);
    bool closed = sys->root_closed;
    pthread_mutex_unlock(&sys->root_mu);
    if (closed) return TR_ESTOPPED;
    return tri_send_sys(sys, sys->root, sys->root_pid.serial, TRI_MSG_STOP_CHILD, &child,
                        sizeof child);
}
