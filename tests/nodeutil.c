/* nodeutil.c — see nodeutil.h. */
#include "nodeutil.h"

#include <stdio.h>

static unsigned next_tag;

cluster cluster_new(void) { return (cluster){.tag = ++next_tag}; }

static void endpoint(char *buf, size_t n, unsigned tag, int i)
{
    snprintf(buf, n, "inproc://test-node-%u-%d", tag, i);
}

void start_node(cluster *c, int i, int seed)
{
    tr_system_opts so = {.workers = 1};
    assert_int_equal(tr_system_new(&so, &c->sys[i]), TR_OK);
    char name[32], ep[64], seed_ep[64];
    snprintf(name, sizeof name, "n%d", i);
    endpoint(ep, sizeof ep, c->tag, i);
    const char *listen[] = {ep};
    tr_node_peer peer = {seed_ep, NULL};
    if (seed >= 0) endpoint(seed_ep, sizeof seed_ep, c->tag, seed);
    tr_node_opts o = {.name = name, .listen = listen, .nlisten = 1,
                      .peers = seed >= 0 ? &peer : NULL, .npeers = seed >= 0 ? 1 : 0};
    assert_int_equal(tr_node_start(c->sys[i], &o, &c->node[i]), TR_OK);
    assert_int_equal(tr_inbox_new(c->sys[i], &c->in[i]), TR_OK);
    if (i >= c->n) c->n = i + 1;
}

void stop_node(cluster *c, int i)
{
    tr_inbox_destroy(&c->in[i]);
    tr_system_destroy(&c->sys[i]);
    c->node[i] = NULL;
}

void cluster_mesh(cluster *c, int n)
{
    for (int i = 0; i < n; i++) start_node(c, i, i ? 0 : -1);
    for (int i = 0; i < n; i++)
        assert_int_equal(tr_node_wait_peers(c->node[i], (size_t)n - 1, T_WAIT_MS), TR_OK);
}

void cluster_free(cluster *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->sys[i]) stop_node(c, i);
}

const tr_msg *expect_in(tr_inbox *in, const char *type)
{
    const tr_msg *m = NULL;
    assert_int_equal(tr_inbox_recv(in, &m, T_WAIT_MS), TR_OK);
    if (strcmp(tr_atom_name(tr_msg_type(m)), type) != 0)
        fail_msg("got %s, want %s", tr_atom_name(tr_msg_type(m)), type);
    return m;
}
