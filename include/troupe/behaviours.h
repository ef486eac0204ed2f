/** @file
 * troupe/behaviours.h — the process-wide behaviour table.
 *
 * Behaviours are found by name wherever a behaviour pointer cannot travel:
 * in a config file (troupe/config.h), in a remote spawn request from
 * another node, in a plugin. One table per process, filled by troupe itself
 * (its built-in behaviours), by the program that embeds troupe, and by
 * plugins (shared objects opened by the config loader, which call
 * tr_behaviour_register from their entry point). */
#ifndef TROUPE_BEHAVIOURS_H
#define TROUPE_BEHAVIOURS_H

#include "error.h"

#include "troupe/actor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** tr_behaviour_register — makes `behaviour` (which must outlive the
 * process's use of it: a static table) findable by `name` (1 to 255
 * printable bytes, copied). Registering the same table under the same name
 * again is a no-op. Errors: TR_EINVAL (bad name, NULL behaviour, no handle
 * callback), TR_EEXIST (the name stands for another behaviour), TR_ENOMEM.
 * Thread-safe. */
tr_err tr_behaviour_register(const char *name, const tr_behaviour *behaviour);

/** tr_behaviour_find — the behaviour registered as `name`, or NULL.
 * Thread-safe. */
const tr_behaviour *tr_behaviour_find(const char *name);

/** tr_behaviour_name_of — the name `behaviour` was registered under (the
 * first, if several), or NULL. Thread-safe. */
const char *tr_behaviour_name_of(const tr_behaviour *behaviour);

#ifdef __cplusplus
}
#endif
#endif
