/* publish.h — how a running tree makes itself visible to `troupe tree`.
 *
 * `troupe tree ENDPOINT` joins the node at ENDPOINT and looks up two
 * names there (troupe/registry.h):
 *   troupe.tree        the tree's root supervisor, which it walks with
 *                      tr_sup_which_children_sync and tr_system_inspect
 *                      (both are calls: they work on another node's pids);
 *   troupe.tree.specs  an actor answering a "troupe.tree.specs" request
 *                      with what the spec says and inspection cannot: each
 *                      child's behaviour, a supervisor's strategy, the
 *                      node a remote child runs on (optional: without it
 *                      the tree is shown without those).
 * `troupe run` publishes its tree this way, and `troupe demo --listen`. A program
 * that embeds troupe shows its own tree by registering its root
 * supervisor as "troupe.tree" (and, if it likes, calling
 * troupe_publish_tree).
 *
 * The specs answer is text, one line per supervisor or child spec:
 *     <path>\t<behaviour>\t<strategy>\t<node>\n
 * <path> is the child's ids from the root down joined by '/' ("." for the
 * root itself; for the template of a simple_one_for_one supervisor's
 * children, the supervisor's path, a '/' and a '*'); <behaviour> is the registered behaviour's name,
 * or "supervisor"; <strategy> a supervisor's strategy; <node> a remote
 * child's node; "-" for what does not apply. A spec whose id holds a tab
 * or a newline is left out. */
#ifndef TROUPE_TOOLS_PUBLISH_H
#define TROUPE_TOOLS_PUBLISH_H

#include <stddef.h>

#include "troupe.h"

#define TROUPE_TREE_NAME  "troupe.tree"
#define TROUPE_SPECS_NAME "troupe.tree.specs"

/* troupe_publish_tree — registers `root` (a running supervisor of `sys`
 * started from `spec`) as TROUPE_TREE_NAME and spawns, as a child of the
 * system's root, the TROUPE_SPECS_NAME actor. That actor watches `root`
 * and stops normally when it ends (so that a tree ending by itself still
 * ends tr_system_run); spawned after the tree, it is stopped before it.
 * On failure writes why into `why` (a name already taken, no memory) and
 * returns a TR_E* code; the tree runs on either way. Any non-actor
 * thread. */
int troupe_publish_tree(tr_system *sys, const tr_sup_spec *spec, tr_pid root, char *why,
                        size_t why_size);

/* troupe_strategy_name — "one_for_one", "one_for_all", "rest_for_one",
 * "simple_one_for_one" (or "?"). */
const char *troupe_strategy_name(tr_strategy s);

#endif
