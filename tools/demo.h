/* demo.h — `troupe demo`: the shop service over two nodes (demo.c). */
#ifndef TROUPE_TOOLS_DEMO_H
#define TROUPE_TOOLS_DEMO_H

/* Takes the arguments after "demo" (argv[0] is "demo"); parses and checks
 * every option, runs the demo and returns the exit status its --help
 * documents (0 done, 1 could not complete, 2 usage error). Installs
 * SIGINT/SIGTERM handlers and the log handler for its run. */
int troupe_demo(int argc, char **argv);

#endif
