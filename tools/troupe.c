/* troupe.c — the `troupe` command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "demo.h"
#include "keygen.h"
#include "troupe.h"

static int usage(FILE *to)
{
    fprintf(to,
            "usage: troupe <command> [options]\n"
            "\n"
            "commands:\n"
            "  demo                run the built-in example: a service over two nodes\n"
            "                      (troupe demo --help for its options)\n"
            "  keygen NAME         write a node's CURVE key pair: NAME.key, NAME.pub\n"
            "                      (troupe keygen -h for more)\n"
            "  run FILE            run a config's supervision tree (troupe run --help)\n"
            "  check FILE...       validate config files (troupe check --help)\n"
            "  tree ENDPOINT       print a running node's live tree, as text, --json or\n"
            "                      --dot (troupe tree --help); exit 0 printed, 1 usage\n"
            "                      error, 3 cannot reach the node or it has no tree\n"
            "  version             print the version (also --version, -V)\n"
            "  help                this text (also --help, -h)\n"
            "\n"
            "exit status: 0 done; 2 usage error; each command documents the others\n"
            "in its --help (run: 1 config errors, 3 could not start, 4 a failure\n"
            "reached the root; check: 1 errors; tree: 3 unreachable; demo: 1 could\n"
            "not complete).\n");
    return to == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage(stderr);
    const char *cmd = argv[1];
    if (strcmp(cmd, "demo") == 0) return troupe_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "keygen") == 0) return troupe_keygen(argc - 2, argv + 2);
    if (strcmp(cmd, "run") == 0) return troupe_run(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0) return troupe_check(argc - 1, argv + 1);
    if (strcmp(cmd, "tree") == 0) return troupe_tree(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("troupe %s\n", tr_version());
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return usage(stdout);
    fprintf(stderr, "troupe: unknown command '%s'\n", cmd);
    return usage(stderr);
}
