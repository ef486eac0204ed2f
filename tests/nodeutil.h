/* nodeutil.h — clusters of nodes in one test process, over inproc.
 *
 * Node i is named "n<i>" and listens on its own inproc endpoint (unique
 * per cluster: two tests never meet); each has a system of one worker and
 * an inbox. Assertions are on the test thread only. */
#ifndef TROUPE_TEST_NODEUTIL_H
#define TROUPE_TEST_NODEUTIL_H

#include "testutil.h"

#define NODES_MAX 16

typedef struct cluster {
    tr_system *sys[NODES_MAX];
    tr_node *node[NODES_MAX];
    tr_inbox *in[NODES_MAX];
    int n;
    unsigned tag;
} cluster;

/* A new, empty cluster (its endpoints unique in this process). */
cluster cluster_new(void);

/* Starts node i, seeded with node `seed` (-1: none). */
void start_node(cluster *c, int i, int seed);

/* Destroys node i's inbox and system (its node with it). */
void stop_node(cluster *c, int i);

/* Starts nodes 0..n-1, each seeded with node 0, and waits for the mesh. */
void cluster_mesh(cluster *c, int n);

void cluster_free(cluster *c);

/* The next message in `in`, which must be of `type` (within T_WAIT_MS). */
const tr_msg *expect_in(tr_inbox *in, const char *type);

#endif
