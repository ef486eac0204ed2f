/* two_nodes.c: two processes, one call across them, and a monitor that
 * fires when the other process is killed.
 *
 *   two_nodes               runs both: starts "two_nodes serve" as a
 *                           child process, calls it, kills it with
 *                           SIGKILL and waits for the monitor
 *   two_nodes serve EP      the server: a node "server" listening on EP
 *                           (tcp://127.0.0.1:PORT; port * picks a free
 *                           one), an actor registered as "kv" that
 *                           answers every call
 *   two_nodes call EP       the client: connects to EP, calls kv@server
 *
 * Over tcp on 127.0.0.1 no keys are needed; on any other address a node
 * needs CURVE keys (troupe keygen, tr_node_opts.secret_key_file and allow)
 * or explicit insecure mode. */
#include <troupe.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


/* ------------------------------------------------------------ the server */

/* kv: answers every request with "<payload> from <its node>". */
static int kv_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    (void)state;
    if (!tr_msg_is_request(msg)) return 0;
    char answer[300];
    int n = snprintf(answer, sizeof answer, "%.*s from %s", (int)tr_msg_size(msg),
                     (const char *)tr_msg_data(msg), tr_node_name(tr_node_of(tr_ctx_system(ctx))));
    return tr_reply(ctx, msg, tr_atom_from("answer"), answer, (size_t)n + 1);
}

static const tr_behaviour kv = {.name = "kv", .handle = kv_handle};

static int serve(const char *endpoint)
{
    tr_system *sys;
    tr_node *node;
    if (tr_system_new(NULL, &sys) != TR_OK) return 1;
    const char *listen[] = {endpoint};
    tr_node_opts o = {.name = "server", .listen = listen, .nlisten = 1};
    int rc = tr_node_start(sys, &o, &node);
    if (rc == TR_OK)
        rc = tr_system_spawn(sys, &kv, &(tr_spawn_opts){.name = "kv", .register_as = "kv"}, NULL);
    if (rc != TR_OK) {
        fprintf(stderr, "server: %s\n", tr_strerror(rc));
        tr_system_destroy(&sys);
        return 1;
    }
    printf("server: node \"server\" listening on %s\n", tr_node_endpoint(node, 0));
    fflush(stdout);
    rc = tr_system_run(sys); /* until stopped or killed */
    tr_system_destroy(&sys);
    return rc == TR_OK ? 0 : 1;
}

/* ------------------------------------------------------------ the client */

static int failed(const char *what, int rc)
{
    fprintf(stderr, "client: %s: %s\n", what, tr_strerror(rc));
    return 1;
}

/* Calls kv@server; if `server` is not 0, kills that process and waits for
 * the monitor on kv to fire. */
static int client(const char *endpoint, pid_t server)
{
    tr_system *sys;
    tr_node *node;
    tr_inbox *me = NULL;
    int rc = tr_system_new(NULL, &sys);
    if (rc != TR_OK) return failed("tr_system_new", rc);
    tr_node_peer peer = {.endpoint = endpoint};
    /* every node listens: the server answers over its own connection to
     * the client's endpoint; heartbeats every 100 ms, lost after 1 s */
    const char *listen[] = {"tcp://127.0.0.1:*"};
    tr_node_opts o = {.name = "client", .listen = listen, .nlisten = 1, .peers = &peer, .npeers = 1,
                      .heartbeat_ms = 100, .heartbeat_timeout_ms = 1000};
    int status = 1;
    if ((rc = tr_node_start(sys, &o, &node)) != TR_OK) {
        failed("tr_node_start", rc);
        goto out;
    }
    if ((rc = tr_node_wait_peers(node, 1, 5000)) != TR_OK) {
        failed("no server", rc);
        goto out;
    }
    /* the call: a name on the other node, resolved there */
    tr_msg *reply = NULL;
    rc = tr_call_named_sync(sys, "kv@server", tr_atom_from("question"), "hello", 5, 2000, &reply);
    if (rc != TR_OK) {
        failed("tr_call_named_sync", rc);
        tr_msg_destroy(&reply);
        goto out;
    }
    printf("client: kv@server answered \"%s\" (from pid <%u.%u.%llu>)\n",
           (const char *)tr_msg_data(reply), tr_msg_sender(reply).node, tr_msg_sender(reply).slot,
           (unsigned long long)tr_msg_sender(reply).serial);
    tr_pid kv_pid = tr_msg_sender(reply);
    tr_msg_destroy(&reply);
    if (!server) {
        status = 0;
        goto out;
    }
    /* the monitor: fires when kv ends, or when its node is lost */
    if ((rc = tr_inbox_new(sys, &me)) != TR_OK || (rc = tr_inbox_monitor(me, kv_pid, NULL)) != TR_OK) {
        failed("tr_inbox_monitor", rc);
        goto out;
    }
    kill(server, SIGKILL);
    printf("client: killed the server process (pid %d)\n", (int)server);
    const tr_msg *down;
    tr_pid who;
    tr_exit why;
    if ((rc = tr_inbox_recv(me, &down, 5000)) != TR_OK || tr_exit_decode(down, &who, &why) != TR_OK) {
        failed("waiting for the monitor", rc);
        goto out;
    }
    printf("client: the monitor fired: kv is gone (%s)\n", tr_exit_kind_name(why.kind));
    status = why.kind == TR_EXIT_NOCONNECTION ? 0 : 1;
out:
    tr_inbox_destroy(&me);
    tr_system_destroy(&sys);
    return status;
}

/* Both in one go: the server is this program again, in a child process. */
static int both(const char *self)
{
    int ready[2];
    if (pipe(ready) != 0) return 1;
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) { /* the server's stdout is the pipe: its first line says ready */
        dup2(ready[1], STDOUT_FILENO);
        close(ready[0]);
        close(ready[1]);
        /* argv[0], not /proc/self/exe: under valgrind the latter is valgrind */
        char *const args[] = {(char *)self, "serve", "tcp://127.0.0.1:*", NULL};
        execvp(self, args);
        _exit(127);
    }
    close(ready[1]);
    char line[200] = "";
    ssize_t n = read(ready[0], line, sizeof line - 1); /* blocks until it listens */
    close(ready[0]);
    if (n <= 0) {
        fprintf(stderr, "two_nodes: the server did not start\n");
        waitpid(pid, NULL, 0);
        return 1;
    }
    fputs(line, stdout);
    const char *ep = strstr(line, "tcp://");
    line[strcspn(line, "\n")] = '\0';
    int status = ep ? client(ep, pid) : 1;
    kill(pid, SIGKILL); /* already, unless the client failed first */
    waitpid(pid, NULL, 0);
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "serve") == 0) return serve(argv[2]);
    if (argc == 3 && strcmp(argv[1], "call") == 0) return client(argv[2], 0);
    if (argc == 1) return both(argv[0]);
    fprintf(stderr, "usage: two_nodes [serve|call ENDPOINT]\n");
    return 2;
}
