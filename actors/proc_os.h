/* proc_os.h — the OS side of process children: one process-wide thread
 * that forks, execs, watches and reaps them (troupe/process.h says why one
 * thread). Its results reach the owning actor as runtime messages
 * (TRI_MSG_PROC_STARTED, then TRI_MSG_PROC_EXIT), handled in its turn. */
#ifndef TRI_PROC_OS_H
#define TRI_PROC_OS_H

#include <stdint.h>

#include "core.h"

/* What to start. Built by the process actor; owned by the proc thread
 * once handed to tri_proc_spawn (freed with tri_launch_free). */
typedef struct tri_launch {
    char *program; /* a path, or a name looked up in PATH */
    char **argv;   /* NULL-terminated, argv[0] included */
    char **envp;   /* NULL-terminated */
    char *cwd;     /* NULL: ours */
    char *label;   /* the actor's path: prefix of the output's log lines */
} tri_launch;

void tri_launch_free(tri_launch *l);

/* TRI_MSG_PROC_STARTED: err 0 and the child's pid, or the errno that
 * prevented it (no TRI_MSG_PROC_EXIT follows then). */
struct tri_proc_started {
    int32_t err;
    int32_t pid;
};

/* TRI_MSG_PROC_EXIT: waitid's si_code (CLD_EXITED, CLD_KILLED,
 * CLD_DUMPED) and si_status. */
struct tri_proc_exit {
    int32_t code;
    int32_t status;
};

/* Counts `sys` among the users of the proc thread, starting it if it is
 * the first; once per system (sys->proc_used records it). TR_EAGAIN when the thread
 * or its descriptors cannot be made. Any thread. */
int tri_proc_acquire(tr_system *sys);

/* tr_system_destroy, for a system that acquired: waits for a delivery to
 * it in progress, and stops the thread when it was the last user (every
 * child of every system is reaped by then). */
void tri_proc_release(tr_system *sys);

/* Asks the proc thread to start `l` (taken, whatever the outcome) for
 * actor `a` of incarnation `serial`; *id is the handle for
 * tri_proc_signal. The answer always comes (STARTED, and EXIT if it
 * started): the actor must not end before its EXIT (or a failed STARTED),
 * which is what keeps `sys` alive while the thread may deliver to it.
 * TR_ENOMEM (nothing asked, `l` freed). Any thread. */
int tri_proc_spawn(tr_system *sys, tri_actor *a, uint64_t serial, tri_launch *l, uint64_t *id);

/* Sends `sig` to the child with handle `id` (through its pidfd: never to
 * a recycled pid); nothing if it has been reaped. Any thread. */
void tri_proc_signal(uint64_t id, int sig);

#endif
