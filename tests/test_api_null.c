/* Every entry point of the public API (include/scimitar/) takes NULL
 * handles and arguments without crashing: functions that return a status
 * return SCIM_EINVAL (or the documented code), the others return a
 * neutral value or do nothing. The error message is always the latest
 * failing call's. Run under ASan/UBSan in CI. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "scimitar/host.h"
#include "scimitar/kernel.h"
#include "scimitar/scimitar.h"
#include "scimitar/trace.h"

START_TEST(simulation_handles)
{
    uint64_t pa;
    scim_frame_counts fc;
    ck_assert_int_eq(scim_sim_load_file(NULL, "x.yaml"), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_load_string(NULL, "{}", "x"), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_set(NULL, "seed=1"), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_build(NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_check_traces(NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_run(NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_run_until(NULL, 5), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_finish(NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_resolve(NULL, 1, 0, &pa), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_frames(NULL, &fc), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_write_stats(NULL, "/tmp/x"), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_write_config(NULL, "/tmp/x"), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_dump_config(NULL, stdout), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_os_call(NULL, NULL, NULL, NULL), SCIM_EINVAL);
    ck_assert_ptr_null(scim_sim_device(NULL, "nic0"));
    ck_assert_ptr_null(scim_sim_config(NULL));
    ck_assert_ptr_null(scim_sim_kernel(NULL));
    ck_assert_ptr_null(scim_sim_stats(NULL));
    ck_assert_uint_eq(scim_sim_now(NULL), 0);
    ck_assert_uint_eq(scim_sim_seed(NULL), 0);
    ck_assert_int_eq(scim_sim_fast_path(NULL), SCIM_FAST_PATH_OFF);
    ck_assert_ptr_null(scim_sim_fast_path_conflict(NULL));
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(NULL), "NULL"));
    scim_sim_summary(NULL, stdout);
    scim_sim_set_progress(NULL, NULL, NULL);
    uint64_t done = 7, total = 7;
    ck_assert_int_eq(scim_sim_trace_position(NULL, &done, &total), SCIM_EINVAL);
    scim_sim_destroy(NULL);
}
END_TEST

START_TEST(simulation_arguments)
{
    scim_sim *sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_load_file(sim, NULL), SCIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "path is NULL"));
    ck_assert_int_eq(scim_sim_load_string(sim, NULL, "x"), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_set(sim, NULL), SCIM_EINVAL);
    /* the latest failing call's message, not the first's */
    ck_assert_int_eq(scim_sim_set(sim, "noequals"), SCIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "has no '='"));
    ck_assert_int_eq(scim_sim_run(sim), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "build the simulation"));
    ck_assert_int_eq(scim_sim_load_string(sim, "kernel: {backend: native}\n", NULL), 0);
    ck_assert_str_eq(scim_sim_errmsg(sim), "no error");
    ck_assert_int_eq(scim_sim_build(sim), 0);
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_frames(sim, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_write_stats(sim, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_write_config(sim, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_dump_config(sim, NULL), SCIM_EINVAL);
    ck_assert_ptr_null(scim_sim_device(sim, NULL));
    ck_assert_int_eq(scim_sim_os_call(sim, NULL, NULL, NULL), SCIM_EINVAL);
    scim_sim_summary(sim, NULL);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    scim_sim_destroy(sim);
}
END_TEST

START_TEST(devices)
{
    ck_assert_ptr_null(scim_dev_name(NULL));
    ck_assert_uint_eq(scim_dev_pasid(NULL), 0);
    ck_assert(!scim_dev_idle(NULL));
    ck_assert_int_eq(scim_dev_submit(NULL, SCIM_DEV_READ, 0, 1, 0), SCIM_EINVAL);
    ck_assert_int_eq(scim_dev_submit_request(NULL, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_dev_set_callbacks(NULL, NULL, NULL), SCIM_EINVAL);
}
END_TEST

START_TEST(statistics)
{
    const char *name;
    double v;
    ck_assert_uint_eq(scim_stats_flat_count(NULL), 0);
    ck_assert_int_ne(scim_stats_flat_get(NULL, 0, &name, &v, NULL, NULL), 0);
    ck_assert_int_eq(scim_stats_lookup(NULL, "x", &v), SCIM_EINVAL);
    ck_assert_int_eq(scim_stats_write_json(NULL, stdout, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_stats_write_csv(NULL, stdout, NULL), SCIM_EINVAL);
    scim_sim *sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_load_string(sim, "kernel: {backend: native}\n", "x"), 0);
    ck_assert_int_eq(scim_sim_build(sim), 0);
    scim_stats *st = scim_sim_stats(sim);
    ck_assert_int_eq(scim_stats_lookup(st, NULL, &v), SCIM_EINVAL);
    /* a NULL value asks whether the statistic exists; NULL outputs are skipped */
    ck_assert_int_eq(scim_stats_lookup(st, "sim.time_ps", NULL), 0);
    ck_assert_int_eq(scim_stats_lookup(st, "no.such", NULL), SCIM_ENOENT);
    ck_assert_int_eq(scim_stats_flat_get(st, 0, NULL, NULL, NULL, NULL), 0);
    ck_assert_int_eq(scim_stats_write_json(st, NULL, NULL), SCIM_EINVAL);
    scim_sim_destroy(sim);
}
END_TEST

START_TEST(kernel)
{
    scim_err e = {0};
    ck_assert_int_eq(scim_kernel_run(NULL, &e), SCIM_EINVAL);
    ck_assert_int_eq(scim_kernel_run_until(NULL, 1, NULL), SCIM_EINVAL);
    ck_assert_uint_eq(scim_kernel_now(NULL), 0);
    ck_assert(!scim_kernel_failed(NULL));
    ck_assert_uint_eq(scim_kernel_events_executed(NULL), 0);
    ck_assert_uint_eq(scim_kernel_wakeups(NULL), 0);
    ck_assert_uint_eq(scim_kernel_events_pending(NULL), 0);
    ck_assert_uint_eq(scim_kernel_next_time(NULL), SCIM_TIME_MAX);
    scim_kernel_schedule(NULL, 1, SCIM_PRIO_DEFAULT, NULL, NULL, 0);
    scim_kernel_schedule_at(NULL, 1, SCIM_PRIO_DEFAULT, NULL, NULL, 0);
    scim_kernel_stop(NULL);
    scim_kernel_fail(NULL, SCIM_EINVAL, "x");
    scim_kernel_set_poll(NULL, NULL, NULL, 0);
    scim_kernel_destroy(NULL);
    scim_kernel *k = scim_kernel_create(SCIM_BACKEND_NATIVE, NULL);
    ck_assert_ptr_nonnull(k);
    scim_kernel_schedule(k, 1, SCIM_PRIO_DEFAULT, NULL, NULL, 0); /* no handler: ignored */
    scim_kernel_schedule_timer(k, 1, SCIM_PRIO_DEFAULT, NULL, NULL, 0);
    ck_assert_uint_eq(scim_kernel_events_pending(k), 0);
    ck_assert_uint_eq(scim_kernel_timers_pending(k), 0);
    ck_assert_int_eq(scim_kernel_run(k, NULL), 0);
    ck_assert(!scim_kernel_failed(k));
    scim_kernel_fail(k, SCIM_EINVAL, "x");
    ck_assert(scim_kernel_failed(k));
    scim_kernel_destroy(k);
    ck_assert_int_eq(scim_kernel_backend(NULL), SCIM_BACKEND_NATIVE);
    ck_assert_uint_eq(scim_kernel_timers_pending(NULL), 0);
    scim_kernel_schedule_timer(NULL, 1, SCIM_PRIO_DEFAULT, NULL, NULL, 0);
    scim_kernel_set_work_check(NULL, NULL, NULL);
    scim_kernel_set_quantum(NULL, 1);
    /* a frequency of 0 or past 1 PHz is refused; a clock never set gives no cycles */
    scim_clock c = {0};
    scim_err_clear(&e); /* the first error stays: clear the one from run(NULL) */
    ck_assert_int_eq(scim_clock_init(&c, 0, &e), SCIM_ERANGE);
    ck_assert_str_eq(e.msg, "clock frequency 0 Hz is out of range (1 Hz .. 1 PHz)");
    scim_err_clear(&e);
    ck_assert_int_eq(scim_clock_init(&c, 1000000000000001ull, &e), SCIM_ERANGE);
    scim_err_clear(&e);
    ck_assert_int_eq(scim_clock_init(&c, 1000000000000000ull, &e), 0);
    ck_assert_uint_eq(scim_clock_cycles(&c, 1000), 1); /* 1000 fs */
    c = (scim_clock){0};
    ck_assert_uint_eq(scim_clock_cycles(&c, 5), 0);
    ck_assert_uint_eq(scim_clock_next_edge(&c, 7), 7);
    ck_assert_ptr_null(scim_kernel_create((scim_backend)7, NULL));
    ck_assert_int_eq(scim_clock_init(NULL, 1000000000, &e), SCIM_EINVAL);
    ck_assert_uint_eq(scim_clock_cycles(NULL, 5), 0);
    ck_assert_uint_eq(scim_clock_next_edge(NULL, 5), 5);
    scim_err_clear(NULL);
    ck_assert_ptr_nonnull(scim_status_name(12345));
}
END_TEST

START_TEST(traces)
{
    scim_err e = {0};
    scim_trace_rec rec = {0};
    char buf[128];
    scim_trace_summary sum;
    ck_assert_ptr_null(scim_trace_open(NULL, &e));
    ck_assert_int_eq(e.code, SCIM_EINVAL);
    ck_assert_ptr_null(scim_trace_open(NULL, NULL));
    ck_assert_ptr_null(scim_trace_open_mem(NULL, 5, "x", NULL));
    ck_assert_int_eq(scim_trace_next(NULL, &rec, NULL), SCIM_EINVAL);
    ck_assert(!scim_trace_is_binary(NULL));
    ck_assert_ptr_nonnull(scim_trace_name(NULL));
    ck_assert_uint_eq(scim_trace_offset(NULL), 0);
    uint64_t done = 7, total = 7;
    scim_trace_position(NULL, &done, &total);
    ck_assert_uint_eq(done, 0);
    ck_assert_uint_eq(total, 0);
    scim_trace_position(NULL, NULL, NULL);
    scim_trace_close(NULL);
    ck_assert_ptr_null(scim_trace_create(NULL, SCIM_TRACE_TEXT, false, NULL));
    ck_assert_int_eq(scim_trace_write(NULL, &rec, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_trace_comment(NULL, "x", NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_trace_finish(NULL, NULL), SCIM_EINVAL);
    scim_trace_abort(NULL);
    ck_assert_ptr_nonnull(scim_trace_op_name((scim_trace_op)99));
    ck_assert_int_lt(scim_trace_format_rec(NULL, buf, sizeof buf), 0);
    ck_assert_int_gt(scim_trace_format_rec(&rec, NULL, 0), 0); /* snprintf: the length it needs */
    ck_assert(!scim_trace_rec_equal(NULL, &rec));
    ck_assert_int_eq(scim_trace_summarize(NULL, &sum, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_trace_summarize("x", NULL, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_trace_summary_print(NULL, stdout), SCIM_EINVAL);
    scim_trace_reader *r = scim_trace_open_mem("@0 read 0x1000 8\n", 17, NULL, NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(scim_trace_next(r, NULL, NULL), SCIM_EINVAL);
    scim_trace_close(r);
    /* a directory is named as such, not reported as a gzip or YAML error */
    scim_err_clear(&e);
    ck_assert_ptr_null(scim_trace_open("/tmp", &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "it is a directory"));
    scim_sim *sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_load_file(sim, "/tmp"), SCIM_EIO);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "it is a directory"));
    scim_sim_destroy(sim);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api_null");
    TCase *tc = tcase_create("api_null");
    tcase_add_test(tc, simulation_handles);
    tcase_add_test(tc, simulation_arguments);
    tcase_add_test(tc, devices);
    tcase_add_test(tc, statistics);
    tcase_add_test(tc, kernel);
    tcase_add_test(tc, traces);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
