/* cmds.h — the config commands of `troupe` (check.c, run.c, tree.c). Each takes
 * the arguments after the command's name's own argv[0] ("check", "run", "tree")
 * and returns the process exit status its --help documents. */
#ifndef TROUPE_TOOLS_CMDS_H
#define TROUPE_TOOLS_CMDS_H

int troupe_check(int argc, char **argv);
int troupe_run(int argc, char **argv);
int troupe_tree(int argc, char **argv);

#endif
