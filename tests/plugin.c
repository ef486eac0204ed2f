/* plugin.c — the plugin test_config loads, built three ways (tests/
 * meson.build): as it should be, with another ABI number (TEST_BAD_ABI),
 * and with an entry point that refuses (TEST_INIT_FAILS). It links no
 * troupe: its tr_* calls resolve to the test executable's. */
#include <ctype.h>
#include <stdio.h>

#include "troupe.h"

#ifdef TEST_BAD_ABI
TROUPE_PLUGIN_EXPORT const uint32_t troupe_plugin_abi = 999;
#else
TROUPE_PLUGIN_EXPORT const uint32_t troupe_plugin_abi = TROUPE_PLUGIN_ABI;
#endif

/* "test_plugin.upper": answers a request with its payload in capitals,
 * prefixed by its args' "prefix" (troupe/args.h). */
typedef struct upper {
    char prefix[32];
} upper;

static int upper_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    (void)ctx;
    upper *s = vs;
    const char *p = "";
    if (tr_args_str(args, size, "prefix", &p, NULL) == TR_EINVAL) return TR_EINVAL;
    snprintf(s->prefix, sizeof s->prefix, "%s", p);
    return 0;
}

static int upper_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    upper *s = vs;
    if (!tr_msg_is_request(m)) return 0;
    char out[128];
    int n = snprintf(out, sizeof out, "%s", s->prefix);
    const char *in = tr_msg_data(m);
    for (size_t i = 0; i < tr_msg_size(m) && (size_t)n < sizeof out - 1; i++)
        out[n++] = (char)toupper((unsigned char)in[i]);
    return tr_reply(ctx, m, tr_atom_from("upper.reply"), out, (size_t)n);
}

static const tr_behaviour upper_b
    __attribute__((unused)) = {"test_plugin.upper", sizeof(upper), upper_init, upper_handle, NULL};

TROUPE_PLUGIN_EXPORT int troupe_plugin_init(const tr_plugin_info *info)
{
#ifdef TEST_INIT_FAILS
    snprintf(info->error, info->error_size, "refused on purpose (abi %u)", (unsigned)info->abi);
    return TR_EFAILED;
#else
    if (info->abi != TROUPE_PLUGIN_ABI) return TR_EINVAL;
    return tr_behaviour_register("test_plugin.upper", &upper_b);
#endif
}
