/* scimitar event kernel: simulated time in picoseconds, timed events ordered
 * by (time, priority, insertion sequence) so a run is deterministic.
 *
 * Two time keepers drive the same C-side event queue:
 *   SCIM_BACKEND_SYSTEMC  SystemC keeps time. One SC_METHOD, woken by one
 *                         sc_event, dispatches every C event due at the
 *                         current SystemC time, so SystemC sees one wake-up
 *                         per distinct time, not one process per event. A
 *                         SystemC platform that links scimitar hosts it in its
 *                         own scheduler (create the kernel during elaboration,
 *                         then call sc_start() as usual).
 *   SCIM_BACKEND_NATIVE   a plain C loop over the same queue, for embedding in
 *                         simulators that are not SystemC-based (gem5, SST) and
 *                         for several independent simulations in one process.
 * Both produce the same event order, hence identical statistics (tested).
 */
#ifndef SCIMITAR_KERNEL_H
#define SCIMITAR_KERNEL_H

#include <stdbool.h>

#include "scimitar/scimitar.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_kernel scim_kernel;

/* A handler gets its context pointer and one integer argument. */
typedef void (*scim_event_fn)(void *ctx, uint64_t arg);

typedef enum scim_backend {
    SCIM_BACKEND_SYSTEMC = 0,
    SCIM_BACKEND_NATIVE = 1
} scim_backend;

/* Priorities order events that fall at the same picosecond: lower first.
 * Within one priority, insertion order. */
enum {
    SCIM_PRIO_FIRST = 0,
    SCIM_PRIO_DEFAULT = 64,
    SCIM_PRIO_LAST = 255
};

/* Create a kernel. With SCIM_BACKEND_SYSTEMC, the first kernel of the
 * process instantiates scimitar's SystemC module, which must happen before
 * the SystemC kernel is elaborated by somebody else (i.e. before any
 * sc_start() that scimitar did not issue). */
SCIM_API scim_kernel *scim_kernel_create(scim_backend backend, scim_err *err);
SCIM_API void scim_kernel_destroy(scim_kernel *k); /* NULL is harmless */
SCIM_API scim_backend scim_kernel_backend(const scim_kernel *k);

/* Current simulated time (ps since this kernel was created). */
SCIM_API scim_time_t scim_kernel_now(const scim_kernel *k);

/* Schedule fn(ctx, arg) `delay` ps from now / at absolute time `when`
 * (when >= now). Scheduling never fails: the queue grows as needed, and a
 * host allocation failure is reported by the next run. */
SCIM_API void scim_kernel_schedule(scim_kernel *k, scim_time_t delay, int prio,
                          scim_event_fn fn, void *ctx, uint64_t arg);
SCIM_API void scim_kernel_schedule_at(scim_kernel *k, scim_time_t when, int prio,
                             scim_event_fn fn, void *ctx, uint64_t arg);

/* A timer is an event that does not by itself keep a run going: a timeout
 * that guards a request the model expects to complete. When run() finds
 * only timers left, it asks the work check (below) whether the model still
 * has unfinished work; if not (or without a check), the run ends at the
 * last other event's time and the timers stay queued (a later run_until()
 * fires those it passes, as its time passes anyway); if so, the next timer
 * fires. So a timeout that was answered in time costs no simulated time,
 * and one that was not still fires. Timers run in the same order as other
 * events; timer handlers check whether their request is still waiting. */
SCIM_API void scim_kernel_schedule_timer(scim_kernel *k, scim_time_t delay, int prio,
                                         scim_event_fn fn, void *ctx, uint64_t arg);
/* true while the model has unfinished work (a timer may be what unsticks it). */
typedef bool (*scim_work_fn)(void *ctx);
SCIM_API void scim_kernel_set_work_check(scim_kernel *k, scim_work_fn fn, void *ctx);
/* Timers among the pending events. */
SCIM_API size_t scim_kernel_timers_pending(const scim_kernel *k);

/* Run until no event is left, stop() is called, or a handler fails.
 * Returns 0, or the failure's code with its message in err. */
SCIM_API int scim_kernel_run(scim_kernel *k, scim_err *err);
/* Run every event with time <= t, then leave now == t (if t >= now).
 * Stopped early (stop() or a failure), a native kernel's now stays at the
 * stopping event's time; under SystemC now reads SystemC's clock, which
 * has run on to t (the same events ran either way). */
SCIM_API int scim_kernel_run_until(scim_kernel *k, scim_time_t t, scim_err *err);
/* Stop after the event being executed; pending events stay queued, and a
 * later run() resumes them. */
SCIM_API void scim_kernel_stop(scim_kernel *k);
/* A handler reports an error: the run stops and returns `code`. The first
 * failure wins. */
SCIM_API void scim_kernel_fail(scim_kernel *k, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
SCIM_API bool scim_kernel_failed(const scim_kernel *k);

/* A host-side hook called between events, after every 2^every_log2-th
 * event (watchdog, progress display). It is not an event: it sees the
 * model between two events and must not schedule or change anything in it
 * (it may call scim_kernel_fail or scim_kernel_stop). One hook per kernel;
 * NULL removes it. */
typedef void (*scim_poll_fn)(void *ctx, scim_kernel *k);
SCIM_API void scim_kernel_set_poll(scim_kernel *k, scim_poll_fn fn, void *ctx, unsigned every_log2);

/* Events this kernel executed. Under sim.fast_path fewer than the
 * statistic sim.events, which also counts the events the fast path stood
 * in for. */
SCIM_API uint64_t scim_kernel_events_executed(const scim_kernel *k);
/* SystemC backend: how many times SystemC woke the kernel (one per distinct
 * simulated time with events, or per quantum: scim_kernel_set_quantum);
 * 0 for the native backend. */
SCIM_API uint64_t scim_kernel_wakeups(const scim_kernel *k);
/* SystemC backend: let one wake-up run the events of the next `quantum`
 * ps ahead of SystemC's clock (TLM-2.0's global quantum), but only while
 * this kernel runs SystemC itself (scim_kernel_run*) and the SystemC
 * hierarchy holds nothing but scimitar's bridge: then no other process can
 * observe it and the results are exactly those of quantum 0 (the default:
 * one wake-up per distinct time). Inside a platform's sc_start(), or with
 * any other module elaborated, it has no effect. */
SCIM_API void scim_kernel_set_quantum(scim_kernel *k, scim_time_t quantum);
SCIM_API size_t scim_kernel_events_pending(const scim_kernel *k);
/* Time of the earliest pending event, SCIM_TIME_MAX if none. */
SCIM_API scim_time_t scim_kernel_next_time(const scim_kernel *k);

/* Clock domains. n cycles = round(n * 10^12 / hz) ps, computed exactly, so
 * 3 GHz (333.33 ps) does not drift; period_fs is informational. */
typedef struct scim_clock {
    uint64_t hz;
    uint64_t period_fs;
} scim_clock;

SCIM_API int scim_clock_init(scim_clock *c, uint64_t hz, scim_err *err);
SCIM_API scim_time_t scim_clock_cycles(const scim_clock *c, uint64_t n);
/* The first clock edge at or after t (edges at multiples of the period). */
SCIM_API scim_time_t scim_clock_next_edge(const scim_clock *c, scim_time_t t);

#ifdef __cplusplus
}
#endif
#endif
