/** @file
 * troupe.h — the umbrella header: the only one programs include.
 *
 * troupe is an actor-model message runtime for C: supervised actor trees
 * with structured lifetime (supervisor.h), mailboxes reached in this
 * process or on other nodes over ZeroMQ (node.h), OS-process children
 * (process.h), trees defined in YAML (config.h), servers and typed
 * payloads (server.h, pack.h). See README.md for an overview and each
 * header for its functions. */
#ifndef TROUPE_H
#define TROUPE_H

#include "troupe/version.h"
#include "troupe/error.h"
#include "troupe/log.h"
#include "troupe/atom.h"
#include "troupe/pid.h"
#include "troupe/msg.h"
#include "troupe/actor.h"
#include "troupe/system.h"
#include "troupe/inbox.h"
#include "troupe/timer.h"
#include "troupe/call.h"
#include "troupe/link.h"
#include "troupe/registry.h"
#include "troupe/offload.h"
#include "troupe/inspect.h"
#include "troupe/supervisor.h"
#include "troupe/behaviours.h"
#include "troupe/node.h"
#include "troupe/process.h"
#include "troupe/args.h"
#include "troupe/config.h"
#include "troupe/pack.h"
#include "troupe/server.h"

#endif
