/* node_actors.h — the actors of test_node_proc, run on both sides: in the
 * test process and in node_peer (the node the tests fork and exec), so that
 * everything can be tried in both directions.
 *
 *   echo  answers every request with its payload (type "echo"), except
 *         requests of type "hold", which it never answers; "n" {u64 seq}
 *         comes back to its sender as "back" {seq} when seq is the next one
 *         (0 starts over) and as "badseq" {u64 want, got} when not; "fail"
 *         fails it; any other message with a sender comes back as "back"
 *         with the same payload.
 *   sink  counts "n" {u64 seq} messages and checks that each is the next
 *         (0 first); "report" (a request or a plain message) is answered
 *         with a na_sink_report ("report").
 *   ctl   traps exits and does what it is told; the sender of a command is
 *         whom it reports to from then on:
 *           "spawn"               spawns a child echo: "spawned" {pid}
 *           "monitor" {pid}       "watching" {int rc}
 *           "link" {pid}          "linked" {int rc}
 *           "call" {na_call}      calls the pid (type "hold" or "q"):
 *                                 "calling" {int rc}, then "answered"
 *                                 {payload} or a na_saw (NA_SAW_CALL)
 *           "ping" {"name@node"}  sends "tell" to that name: "pinging"
 *                                 {int rc}, then "pinged" {its pid}
 *           "stats"               "stats" {tr_node_stats}
 *           "stop"                sends "stop" to the pid it was spawned
 *                                 with (node_peer's main thread)
 *         Exit signals and monitor downs of anything but its own children
 *         are reported as "saw" {na_saw}.
 * Every actor answers "tell" {pid} by sending "hello" {its own pid} there
 * (how a test learns a pid from a name@node). */
#ifndef TEST_NODE_ACTORS_H
#define TEST_NODE_ACTORS_H

#include <stdint.h>

#include "troupe.h"

typedef struct na_sink_report {
    uint64_t count;  /* "n" messages received */
    uint64_t next;   /* the seq expected next */
    uint64_t errors; /* messages whose seq was not the one expected */
} na_sink_report;

enum { NA_SAW_EXIT = 0, NA_SAW_DOWN = 1, NA_SAW_CALL = 2 };

typedef struct na_saw {
    tr_pid who;
    uint32_t kind; /* tr_exit_kind */
    uint32_t what; /* NA_SAW_* */
} na_saw;

typedef struct na_call {
    tr_pid to;
    uint32_t hold; /* call with type "hold" (never answered) instead of "q" */
} na_call;

extern const tr_behaviour na_echo_b, na_sink_b, na_ctl_b;

#endif
