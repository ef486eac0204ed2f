/* test_names.c — the names an operator prints: every public enum's
 * _name(), tr_err_name, the atom getters of the runtime's message types
 * (and that the messages really carry those types), and the version. */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

static void enum_names(void **state)
{
    (void)state;
    assert_string_equal(tr_actor_status_name(TR_STATUS_WAITING), "waiting");
    assert_string_equal(tr_start_status_name(TR_START_OK), "ok");
    assert_string_equal(tr_start_status_name(TR_START_IGNORED), "ignored");
    assert_string_equal(tr_start_status_name(TR_START_FAILED), "failed");
    assert_string_equal(tr_start_status_name((tr_start_status)9), "unknown");
    assert_string_equal(tr_full_policy_name(TR_FULL_FAIL), "fail");
    assert_string_equal(tr_full_policy_name(TR_FULL_DROP_NEWEST), "drop newest");
    assert_string_equal(tr_full_policy_name(TR_FULL_DROP_OLDEST), "drop oldest");
    assert_string_equal(tr_full_policy_name(TR_FULL_BLOCK), "block");
    assert_string_equal(tr_full_policy_name((tr_full_policy)9), "unknown");
    assert_string_equal(tr_restart_name(TR_PERMANENT), "permanent");
    assert_string_equal(tr_restart_name(TR_TRANSIENT), "transient");
    assert_string_equal(tr_restart_name(TR_TEMPORARY), "temporary");
    assert_string_equal(tr_restart_name((tr_restart)9), "unknown");
    assert_string_equal(tr_child_type_name(TR_WORKER), "worker");
    assert_string_equal(tr_child_type_name(TR_SUPERVISOR), "supervisor");
    assert_string_equal(tr_child_type_name((tr_child_type)9), "unknown");
    assert_string_equal(tr_strategy_name(TR_ONE_FOR_ONE), "one_for_one");
    assert_string_equal(tr_strategy_name(TR_ONE_FOR_ALL), "one_for_all");
    assert_string_equal(tr_strategy_name(TR_REST_FOR_ONE), "rest_for_one");
    assert_string_equal(tr_strategy_name(TR_SIMPLE_ONE_FOR_ONE), "simple_one_for_one");
    assert_string_equal(tr_strategy_name((tr_strategy)9), "unknown");
    assert_string_equal(tr_auto_shutdown_name(TR_AUTO_SHUTDOWN_NEVER), "never");
    assert_string_equal(tr_auto_shutdown_name(TR_AUTO_SHUTDOWN_ANY), "any_significant");
    assert_string_equal(tr_auto_shutdown_name(TR_AUTO_SHUTDOWN_ALL), "all_significant");
    assert_string_equal(tr_auto_shutdown_name((tr_auto_shutdown)9), "unknown");
    /* every error code has a name and a description */
    for (int rc = TR_OK; rc >= TR_EBUSY; rc--) {
        assert_true(strncmp(tr_err_name(rc), "TR_", 3) == 0);
        assert_string_not_equal(tr_err_name(rc), "TR_E?");
        assert_string_not_equal(tr_strerror(rc), "unknown error");
    }
    assert_string_equal(tr_err_name(TR_OK), "TR_OK");
    assert_string_equal(tr_err_name(TR_ETIMEDOUT), "TR_ETIMEDOUT");
    assert_string_equal(tr_err_name(TR_EBUSY - 1), "TR_E?");
    assert_string_equal(tr_err_name(1), "TR_E?");
}

static void atom_getters(void **state)
{
    (void)state;
    struct {
        tr_atom atom;
        const char *name;
    } want[] = {
        {tr_exit_atom(), "tr.exit"},           {tr_down_atom(), "tr.down"},
        {tr_started_atom(), "tr.started"},     {tr_timeout_atom(), "tr.timeout"},
        {tr_inspect_atom(), "tr.inspect"},     {tr_info_atom(), "tr.info"},
        {tr_name_atom(), "tr.name"},           {tr_dead_letter_atom(), "tr.dead_letter"},
        {tr_nodeup_atom(), "tr.nodeup"},       {tr_nodedown_atom(), "tr.nodedown"},
        {tr_sup_atom(), "tr.sup"},             {tr_sup_children_atom(), "tr.sup.children"},
        {tr_sup_counts_atom(), "tr.sup.counts"}, {tr_sup_childspec_atom(), "tr.sup.childspec"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_string_equal(tr_atom_name(want[i].atom), want[i].name);
        assert_true(tr_atom_eq(want[i].atom, tr_atom_from(want[i].name)));
    }
}

static int idle_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)ctx, (void)st, (void)m;
    return 0;
}

static const tr_behaviour idle_b = {"idle", 0, NULL, idle_handle, NULL};

/* The messages carry the types the getters name. */
static void answers_carry_those_types(void **state)
{
    t_env *e = *state;
    tr_pid a;
    assert_int_equal(tr_system_spawn(e->sys, &idle_b, NULL, &a), TR_OK);
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_sync(e->sys, a, tr_inspect_atom(), NULL, 0, T_WAIT_MS, &reply), TR_OK);
    assert_true(tr_msg_is(reply, tr_info_atom()));
    tr_msg_destroy(&reply);
    static const tr_child_spec kids[] = {{.id = "k", .behaviour = &idle_b}};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 1};
    tr_pid sup;
    assert_int_equal(tr_supervisor_start(e->sys, &spec, "sup", T_WAIT_MS, &sup, NULL, 0), TR_OK);
    tr_child_spec c;
    assert_int_equal(tr_sup_get_childspec_sync(e->sys, sup, "k", T_WAIT_MS, &c, NULL, &reply),
                     TR_OK);
    assert_true(tr_msg_is(reply, tr_sup_childspec_atom()));
    tr_msg_destroy(&reply);
    /* a dead letter's copy */
    assert_int_equal(tr_system_dead_letters_to(e->sys, tr_inbox_pid(e->probe)), TR_OK);
    tr_pid nobody = {tr_system_node(e->sys), 1u << 20, 77};
    assert_int_equal(tr_system_send(e->sys, nobody, tr_atom_from("x"), NULL, 0), TR_OK);
    const tr_msg *m = t_recv(e);
    assert_true(tr_msg_is(m, tr_dead_letter_atom()));
    assert_int_equal(tr_system_dead_letters_to(e->sys, TR_PID_NIL), TR_OK);
}

static void version(void **state)
{
    (void)state;
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", TR_VERSION_MAJOR, TR_VERSION_MINOR, TR_VERSION_PATCH);
    assert_string_equal(v, TR_VERSION_STRING);
    assert_string_equal(tr_version(), TR_VERSION_STRING);
    assert_string_equal(tr_version(), TR_TEST_PROJECT_VERSION); /* meson's */
    assert_int_equal(tr_version_number(), TR_VERSION_NUMBER);
    assert_true(TR_VERSION_AT_LEAST(0, 0, 0));
    assert_true(TR_VERSION_AT_LEAST(TR_VERSION_MAJOR, TR_VERSION_MINOR, TR_VERSION_PATCH));
    assert_false(TR_VERSION_AT_LEAST(TR_VERSION_MAJOR + 1, 0, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enum_names),
        cmocka_unit_test(atom_getters),
        cmocka_unit_test_setup_teardown(answers_carry_those_types, t_setup, t_teardown),
        cmocka_unit_test(version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
