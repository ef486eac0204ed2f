/* check.c — `troupe check FILE...`: validates configs, starts nothing. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "troupe.h"

static const char help[] =
    "usage: troupe check [-h] FILE...\n"
    "\n"
    "Validates troupe config files without starting anything: the YAML syntax,\n"
    "every key, type and range, behaviour names and the tree's combinations\n"
    "(documented in troupe/config.h). Every error of every file is listed.\n"
    "\n"
    "Plugins listed in a file ARE loaded (each one's troupe_plugin_init runs once)\n"
    "so that the behaviours they register can be resolved; key files named by\n"
    "node.keys are checked for existence and permissions.\n"
    "\n"
    "Prints \"FILE: ok\" on stdout for each valid file, and each error of the others\n"
    "on stderr, one per line: FILE:LINE:COLUMN: error: MESSAGE\n"
    "\n"
    "options:\n"
    "  -h, --help   this text\n"
    "\n"
    "exit status:\n"
    "  0  every file is valid\n"
    "  1  at least one file has errors (or cannot be read)\n"
    "  2  usage error\n";

int troupe_check(int argc, char **argv)
{
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (!strcmp(argv[first], "-h") || !strcmp(argv[first], "--help")) {
            fputs(help, stdout);
            return 0;
        }
        if (!strcmp(argv[first], "--")) {
            first++;
            break;
        }
        fprintf(stderr, "troupe check: unknown option '%s'\n\n%s", argv[first], help);
        return 2;
    }
    if (first >= argc) {
        fprintf(stderr, "troupe check: no file given\n\n%s", help);
        return 2;
    }
    int status = 0;
    for (int i = first; i < argc; i++) {
        tr_config *cfg;
        int rc = tr_config_load(argv[i], 0, &cfg);
        if (rc == TR_ENOMEM) {
            fprintf(stderr, "%s: error: out of memory\n", argv[i]);
            status = 1;
            continue;
        }
        for (size_t e = 0; e < tr_config_error_count(cfg); e++)
            fprintf(stderr, "%s\n", tr_config_error_get(cfg, e)->text);
        if (rc == TR_OK)
            printf("%s: ok\n", argv[i]);
        else
            status = 1;
        tr_config_destroy(&cfg);
    }
    return status;
}
