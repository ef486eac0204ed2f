/** @file
 * troupe/config.h — a node and its supervision tree in YAML.
 *
 * tr_config_load reads a YAML file (parsed with libyaml) into the same
 * tr_sup_spec / tr_child_spec a C program would build (troupe/supervisor.h),
 * plus tr_system_opts, a log level and tr_node_opts (troupe/node.h): a tree
 * loaded from YAML and the same tree written in C start and behave
 * identically. `troupe check FILE` validates a file with it and `troupe run
 * FILE` runs one.
 *
 *     node:
 *       workers: 2
 *       log_level: info
 *     plugins: [./libshop.so]
 *     tree:
 *       supervisor: shop
 *       strategy: rest_for_one
 *       intensity: 5
 *       period: 10s
 *       children:
 *         - name: store
 *           behaviour: kv_store
 *           restart: permanent
 *           shutdown: 5s
 *           args: { shards: 4 }
 *         - supervisor: workers
 *           strategy: one_for_one
 *           children:
 *             - { name: w1, behaviour: troupe.echo }
 *
 * Errors. Every error of a file is reported, not only the first, each
 * with the file, line and column (1-based) of the offending key or value
 * and what was expected: "shop.yaml:12:16: error: restart: expected one of
 * permanent, transient, temporary, got 'always'". Errors are: YAML syntax
 * (at libyaml's position; the file's other errors cannot be known then),
 * unknown keys (with a suggestion when one is close), wrong types, values
 * out of range, unknown behaviours, duplicate child ids, a name registered
 * by two children, and invalid combinations: a permanent significant child,
 * a significant child under a supervisor whose auto_shutdown is never, a
 * simple_one_for_one supervisor without exactly one child spec (or with
 * auto_shutdown, or whose template registers a name), mailbox.on_full
 * without a capacity, a backoff whose max is below its min, a heartbeat
 * timeout not above its interval, node keys that need a node name without
 * one, a tcp endpoint on a non-loopback address without keys or insecure.
 *
 * Units. Durations: a whole number with a unit, us ms s m h d, parts
 * combinable ("250ms", "5s", "1m", "1h30m"), "0", or "infinity" where the
 * key allows it. Sizes: a whole number of bytes or with a unit, B KiB MiB
 * GiB TiB (powers of 2) or kB MB GB TB (powers of 10): "64KiB", "1MiB".
 * Integers: decimal (or 0x, 0o). Booleans: true or false.
 *
 * Paths (plugins, key files) are relative to the directory of the config
 * file (for tr_config_parse: of its `name`), or absolute.
 *
 * ------------------------------------------------------------ the keys
 *
 * Top level:
 *   node      map       the runtime and, with a name, the network node (below)
 *   plugins   list      shared objects to load before behaviours are
 *                       looked up (see "Plugins"); default none
 *   tree      map       the root supervisor (required)
 *
 * node: (every key optional)
 *   name            string   the node's name, 1-255 printable bytes
 *                            ("api-1", conventionally "name@host"). A node
 *                            section with a name makes the system a network
 *                            node (tr_config_node); listen, peers, keys,
 *                            insecure, heartbeat, max_message and queue need
 *                            a name. Without one the section only sets the
 *                            runtime's options below.
 *   listen          endpoint or list of them: tcp://host:port (port 1-65535
 *                            or *), ipc://path, inproc://name; default none
 *   peers           list of endpoints, or of {endpoint, key} maps whose key
 *                            is the peer's public key: a .pub file or 40 Z85
 *                            characters; default none
 *   keys            map:  secret  this node's secret key file (required in
 *                                 keys; must not be readable by group or
 *                                 others)
 *                         allow   a .pub file or directory of them, or a
 *                                 list of those: the accepted peers' keys
 *   insecure        bool     accept tcp without CURVE even on non-loopback
 *                            addresses; default false
 *   heartbeat       map:  interval (default 1s), timeout (default 5s,
 *                            above interval)
 *   max_message     size     1B .. 64MiB; default 64MiB
 *   queue           map:  messages (1 .. 8388608, default 100000),
 *                         bytes (size 1B .. 512GiB, default 64MiB): each
 *                         peer's outbound bound
 *   workers         int 1-256, or auto (one per CPU); default auto
 *   blocking_threads int 1-1024; default 4
 *   batch           int 1-65536: messages per actor turn; default 64
 *   time_slice      duration 100us .. 1s; default 1ms
 *   long_callback   duration, or infinity (never logged); default 100ms
 *   log_level       debug, info, warn, error or none; default warn
 *
 * A supervisor (the tree's root, or a child) is a map with `supervisor`:
 *   supervisor      string   its name: the root's tree-path element, a
 *                            child's id (1-255 bytes, no '/')
 *   strategy        one_for_one (default), one_for_all, rest_for_one,
 *                   simple_one_for_one
 *   intensity       int 0 .. 4294967295: restarts allowed in `period`;
 *                   default 1 (OTP's)
 *   period          duration > 0; default 5s (OTP's)
 *   auto_shutdown   never (default), any_significant, all_significant
 *   children        list of child maps (workers or supervisors); default
 *                   none; exactly one (the template) for simple_one_for_one
 * A worker child is a map with `name`:
 *   name            string   its id among its siblings (1-255 bytes, no '/')
 *   behaviour       string   a registered behaviour's name (required, unless
 *                   `process` is given)
 *   args            any YAML value, handed to init as troupe/args.h bytes;
 *                   default none (init gets size 0)
 *   mailbox         map:  capacity  int 1 .. 1073741823 (default unbounded)
 *                         on_full   fail (default), drop_newest,
 *                                   drop_oldest, block (needs a capacity)
 * Both kinds of child also take (never the root):
 *   restart         permanent (default), transient, temporary
 *   shutdown        duration > 0, brutal_kill or infinity; default 5s for
 *                   a worker, infinity for a supervisor (OTP's)
 *   significant     bool; default false (see auto_shutdown)
 *   register        string: a name (1-255 bytes, no '@') each incarnation
 *                   is registered under before its init (OTP's {local,
 *                   Name}); default none; unique in the tree
 *   backoff         map:  min, max (durations > 0, required, max >= min),
 *                         reset (duration, default infinity: never),
 *                         jitter (0 .. 1, default 0): restart delay growing
 *                         from min to max (troupe/supervisor.h)
 *   node            string: the node the child runs on (a remote child:
 *                   tr_child_spec.node; workers only). The system must be
 *                   a node (a node: section, started before the tree by
 *                   `troupe run`); tr_config_start refuses the tree
 *                   otherwise, with the child's file:line:col.
 * A worker may run an OS process instead of a behaviour (troupe/process.h:
 * its exit is the process's, its output is logged line by line):
 *   process         map, instead of `behaviour` (and without `args`, `node`):
 *     program       string: a path, or a name looked up in PATH (required)
 *     args          list of strings (or one): its arguments; default none
 *     env           map of NAME: value added to the inherited environment
 *     cwd           string: its working directory; default the runtime's
 *     kind          plain (default: any program) or node (a troupe node
 *                   that reports ready, such as `troupe run` of a config
 *                   whose node name is `node`; the system must be a node
 *                   listening on ipc:// or loopback tcp://)
 *     node          string: kind node only (required there): its node name
 *     start_timeout duration > 0: kind node only; default 10s
 *   For example:
 *       - name: parser
 *         process: {program: /usr/libexec/parser, args: [--strict]}
 *         shutdown: 2s
 *
 * ------------------------------------------------------------ behaviours
 *
 * A worker's `behaviour` is looked up in the process-wide behaviour table
 * (troupe/behaviours.h), filled by troupe's built-in behaviours (below),
 * by the program embedding troupe (tr_behaviour_register, before loading),
 * and by the config's plugins.
 *
 * Built in (registered by tr_builtins_register, which the loader calls):
 *   troupe.echo     answers every request (tr_call) with a reply of the
 *                   request's type and payload; other messages are ignored.
 *                   No args.
 *   troupe.ticker   sends a message to a registered name every interval.
 *                   args: interval (duration > 0, required), to (a
 *                   registered name, required), type (message type,
 *                   default "tick"), payload (string, default empty),
 *                   count (int > 0: stop normally after that many ticks;
 *                   default unlimited). A tick to a name nobody holds
 *                   fails the ticker (as Erlang's Name ! Msg raises badarg).
 * Both log at info level when they start ("<path>: <behaviour> started")
 * and when they terminate ("<path>: <behaviour> terminated (<reason>)").
 *
 * ------------------------------------------------------------ plugins
 *
 * A plugin is a shared object that registers behaviours. It defines two
 * symbols, with default visibility:
 *
 *     TROUPE_PLUGIN_EXPORT const uint32_t troupe_plugin_abi = TROUPE_PLUGIN_ABI;
 *     TROUPE_PLUGIN_EXPORT int troupe_plugin_init(const tr_plugin_info *info)
 *     {
 *         return tr_behaviour_register("shop.store", &store_behaviour);
 *     }
 *
 * The loader opens it (dlopen, RTLD_NOW | RTLD_LOCAL), refuses it unless
 * troupe_plugin_abi equals the runtime's TROUPE_PLUGIN_ABI, then calls
 * troupe_plugin_init once per process (a plugin named by several configs
 * is opened and initialised once; later loads report the first outcome).
 * init returns 0, or a negative TR_E* code and may write why into
 * info->error. A plugin is never unloaded: the behaviour table points into
 * it. A plugin does not link libtroupe: it uses the host's troupe, so a
 * program that links troupe statically must export its symbols
 * (-rdynamic; meson: export_dynamic: true), as the `troupe` command does.
 * Every failure (no such file, unresolved symbols, not a plugin, another
 * ABI, init failed) is an error located at the plugin's entry in the
 * config. */
#ifndef TROUPE_CONFIG_H
#define TROUPE_CONFIG_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/actor.h"
#include "troupe/log.h"
#include "troupe/node.h"
#include "troupe/supervisor.h"
#include "troupe/system.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ plugins */

/** The plugin ABI this troupe loads. Raised whenever the plugin contract
 * (tr_plugin_info, the entry point, or the behaviour table's layout)
 * changes incompatibly. */
#define TROUPE_PLUGIN_ABI 1u

/** Exports a plugin's entry point from its shared object. */
#define TROUPE_PLUGIN_EXPORT __attribute__((visibility("default")))

/** What troupe_plugin_init receives. */
typedef struct tr_plugin_info {
    uint32_t abi;       /**< the runtime's TROUPE_PLUGIN_ABI */
    const char *path;   /**< the plugin's file, as opened */
    const char *config; /**< the config file that named it */
    char *error;        /**< init may write a reason here (NUL-terminated) */
    size_t error_size;  /**< the room at `error`, in bytes */
} tr_plugin_info;

/** The entry point a plugin defines (see above). */
TROUPE_PLUGIN_EXPORT int troupe_plugin_init(const tr_plugin_info *info);

/** tr_builtins_register — registers troupe's built-in behaviours
 * ("troupe.echo", "troupe.ticker") in the behaviour table; later calls do
 * nothing. The loader calls it; C programs that look the built-ins up by
 * name call it first. Thread-safe. Errors: TR_ENOMEM. */
tr_err tr_builtins_register(void);

/**@{*/
/** The built-in behaviours' tables, for C trees. */
extern const tr_behaviour tr_echo_behaviour;
extern const tr_behaviour tr_ticker_behaviour;
/**@}*/

/* ------------------------------------------------------------ loading */

/** A loaded config: its errors, or its node settings and tree (see the
 * getters below). Opaque. */
typedef struct tr_config tr_config;

/** tr_config_load / tr_config_parse flags */
enum {
    /** List `plugins` but do not open them (their behaviours stay unknown). */
    TR_CONFIG_NO_PLUGINS = 1u << 0,
    /** Do not look at files the config names (key files): only their
     * syntax is checked. */
    TR_CONFIG_NO_FILES = 1u << 1,
};

/** The largest config accepted, in bytes. */
#define TR_CONFIG_MAX_SIZE (16u << 20)

/** tr_config_load — reads and checks the YAML file at `path`, loading its
 * plugins (unless TR_CONFIG_NO_PLUGINS). Returns TR_OK when the file has
 * no error; TR_EINVAL when it has some (an unreadable file included):
 * *out is set in both cases, and its errors are listed by
 * tr_config_error_count/tr_config_error_get. TR_ENOMEM: *out is NULL.
 * Free *out with tr_config_destroy. Thread-safe (plugins are loaded under
 * a process-wide lock). */
tr_err tr_config_load(const char *path, unsigned flags, tr_config **out);

/** tr_config_parse — the same from `size` bytes of `text` (not necessarily
 * NUL-terminated); `name` (copied; "<string>" if NULL) stands for the
 * file in errors and relative paths. */
tr_err tr_config_parse(const char *name, const char *text, size_t size, unsigned flags,
                    tr_config **out);

/** tr_config_destroy — frees a config and sets *cfg to NULL; every pointer
 * obtained from it becomes invalid (a running tree does not need it: specs
 * are copied when a supervisor starts). Accepts NULL and a pointer to
 * NULL. Plugins stay loaded. */
void tr_config_destroy(tr_config **cfg);

/** A located error. `line` and `column` are 1-based, 0 when the error has
 * no position (an unreadable file). Strings belong to the config. */
typedef struct tr_config_error {
    const char *file; /**< the file it is in */
    /**@{*/
    unsigned line, column; /**< where: 1-based, or 0 (see above) */
    /**@}*/
    const char *message; /**< "restart: expected one of ..., got 'always'" */
    const char *text;    /**< "file:line:col: error: <message>" (or "file: error: ...") */
} tr_config_error;

/** tr_config_error_count — how many errors; 0 for a valid config. */
size_t tr_config_error_count(const tr_config *cfg);

/** tr_config_error_get — the i-th error, in file order; NULL past the end. */
const tr_config_error *tr_config_error_get(const tr_config *cfg, size_t i);

/* ------------------------------------------------------------ contents */

/* The getters below return NULL (or the defaults) for a config with
 * errors. Returned pointers stay valid until tr_config_destroy; the config
 * is never modified after loading, so any thread may read it. */

/** tr_config_file — the file name errors use. */
const char *tr_config_file(const tr_config *cfg);

/** tr_config_tree — the root supervisor's spec; NULL with errors. */
const tr_sup_spec *tr_config_tree(const tr_config *cfg);

/** tr_config_tree_name — the root supervisor's name (its `supervisor:`). */
const char *tr_config_tree_name(const tr_config *cfg);

/** tr_config_system_opts — the runtime's options from `node:` (workers,
 * blocking_threads, batch, time_slice, long_callback; unset ones zero,
 * which tr_system_new reads as its defaults). clock is NULL. */
const tr_system_opts *tr_config_system_opts(const tr_config *cfg);

/** tr_config_log_level — node.log_level, TR_LOG_WARN when unset. */
tr_log_level tr_config_log_level(const tr_config *cfg);

/** tr_config_node — the network node's options when `node:` has a name
 * (paths resolved; unset numbers zero, which tr_node_start reads as its
 * defaults), NULL otherwise. */
const tr_node_opts *tr_config_node(const tr_config *cfg);

/** tr_config_child_node — the `node:` of a child spec of this config's
 * tree (a pointer into tr_config_tree's arrays), or NULL when the child
 * is local (or not one of this config's). */
const char *tr_config_child_node(const tr_config *cfg, const tr_child_spec *child);

/** tr_config_locate — where a key or list item of the document is: `path`
 * is keys joined by '.', list items as [i]: "node", "node.listen[1]",
 * "tree.children[0].restart", "plugins[2]". Covers the sections troupe
 * reads (not the insides of args). Fills *out (its message and text NULL).
 * Errors: TR_ENOENT (not in the file), TR_EINVAL. */
tr_err tr_config_locate(const tr_config *cfg, const char *path, tr_config_error *out);

/** tr_config_format_error — writes "file:line:col: error: <message>" for a
 * position found with tr_config_locate, like the loader's own errors
 * (truncated, always NUL-terminated when size > 0). Returns `buf`. */
char *tr_config_format_error(const tr_config_error *where, const char *message, char *buf,
                             size_t size);

/* ------------------------------------------------------------ starting */

/** tr_config_start — starts the tree of a valid config under `sys`'s root
 * (tr_supervisor_start with tr_config_tree and its name) and waits up to
 * timeout_ms for all its children to start. Does not touch the log level,
 * the system's options or the node: the caller applies those. Errors:
 * TR_EINVAL (a config with errors, or a remote child while `sys` is not a
 * node: `why` then says "file:line:col: error: child '<id>' runs on node
 * '<node>', but this system is not a node ..."), and as tr_supervisor_start (TR_EFAILED with
 * the reason in `why`, TR_ETIMEDOUT, ...). Any non-actor thread. */
tr_err tr_config_start(const tr_config *cfg, tr_system *sys, int64_t timeout_ms, tr_pid *out,
                    char *why, size_t why_size);

#ifdef __cplusplus
}
#endif
#endif
