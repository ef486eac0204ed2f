/* keygen.h — `troupe keygen`: a node's CURVE key pair as two files. */
#ifndef TROUPE_TOOLS_KEYGEN_H
#define TROUPE_TOOLS_KEYGEN_H

/* Runs `troupe keygen` with the arguments that follow the word "keygen"
 * (argv[0] is the first of them; argv[argc] need not be NULL). Returns the
 * process exit status: 0 written, 1 failed (a file exists, I/O error), 2
 * usage error. Messages go to stdout (usage on -h, the result) and
 * stderr (errors); the secret key is never printed. */
int troupe_keygen(int argc, char **argv);

#endif
