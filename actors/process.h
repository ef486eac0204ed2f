/* process.h — the process actor's hook into the turn (process.c). */
#ifndef TRI_PROCESS_H
#define TRI_PROCESS_H

#include "core.h"
#include "troupe/process.h"

/* The runtime messages of process actors (TRI_MSG_PROC_*), in their turn:
 * true when `m` was one. */
bool tri_process_handle_sys(tri_actor *a, tr_msg *m);

#endif
