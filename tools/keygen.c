/* keygen.c — `troupe keygen [-d DIR] NAME`: writes NAME.key and NAME.pub. */
#include <stdio.h>
#include <string.h>

#include "../transport/keys.h"
#include "keygen.h"
#include "troupe.h"

static int usage(FILE *to)
{
    fprintf(to,
            "usage: troupe keygen [-d DIR] NAME\n"
            "\n"
            "Writes a new CURVE key pair for node NAME as two files in CZMQ's certificate\n"
            "format: DIR/NAME.key (both keys; created with mode 0600: keep it secret) and\n"
            "DIR/NAME.pub (the public key, to put in other nodes' allowlists). Existing\n"
            "files are never overwritten.\n"
            "\n"
            "  NAME     1 to %d characters from A-Z a-z 0-9 . _ @ -, not starting with\n"
            "           '.' or '-'\n"
            "  -d DIR   write into DIR (default: the current directory)\n"
            "  -h       this text\n"
            "\n"
            "exit status: 0 written, 1 failed (a file exists, I/O error), 2 usage error\n",
            TRI_NODE_NAME_MAX);
    return to == stdout ? 0 : 2;
}

int troupe_keygen(int argc, char **argv)
{
    const char *dir = NULL, *name = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return usage(stdout);
        if (strcmp(a, "-d") == 0) {
            if (i + 1 >= argc || dir) {
                fprintf(stderr, "troupe keygen: -d wants one directory\n");
                return usage(stderr);
            }
            dir = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "troupe keygen: unknown option '%s'\n", a);
            return usage(stderr);
        } else if (name) {
            fprintf(stderr, "troupe keygen: one NAME only\n");
            return usage(stderr);
        } else {
            name = a;
        }
    }
    if (!name) {
        fprintf(stderr, "troupe keygen: NAME missing\n");
        return usage(stderr);
    }
    if (!tri_node_name_valid(name)) {
        fprintf(stderr, "troupe keygen: '%s' is not a valid node name\n", name);
        return usage(stderr);
    }
    tri_keypair kp;
    int rc = tri_keypair_new(&kp);
    if (rc != TR_OK) {
        fprintf(stderr, "troupe keygen: cannot make a key pair: %s\n", tr_strerror(rc));
        return 1;
    }
    tri_key_error err;
    rc = tri_keys_write(dir, name, &kp, &err);
    char pub[TRI_KEY_Z85_LEN + 1];
    tri_key_to_z85(kp.public_key, pub);
    tri_keypair_wipe(&kp);
    if (rc != TR_OK) {
        fprintf(stderr, "troupe keygen: %s\n", err.text);
        return 1;
    }
    const char *d = dir && *dir ? dir : ".";
    printf("wrote %s/%s.key (secret, mode 0600) and %s/%s.pub\npublic key: %s\n", d, name, d, name,
           pub);
    return 0;
}
