/* Event-kernel micro-benchmark: events per host second on each backend.
 *
 * 64 agents each reschedule themselves with a pseudo-random delay of
 * 1..1000 ps (so times rarely coincide: close to one SystemC wake-up per
 * event, the kernel's worst case), plus a run where agents share a 1 ns
 * clock (many events per distinct time, the common case in scimitar).
 * Usage: bench_kernel [events]   (default 5,000,000)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scimitar/kernel.h"

typedef struct agent {
    scim_kernel *k;
    uint64_t state;
    uint64_t *budget;
    int clocked;
} agent;

static void tick(void *ctx, uint64_t arg)
{
    agent *a = ctx;
    if (*a->budget == 0)
        return;
    (*a->budget)--;
    a->state = a->state * 6364136223846793005ull + 1442695040888963407ull;
    scim_time_t delay = a->clocked ? 1000 * (1 + (a->state >> 62)) : 1 + (a->state >> 33) % 1000;
    scim_kernel_schedule(a->k, delay, SCIM_PRIO_DEFAULT, tick, a, arg);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double run(scim_backend b, int clocked, uint64_t events, double *per_wake)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(b, &err);
    if (!k) {
        fprintf(stderr, "bench_kernel: %s\n", err.msg);
        exit(1);
    }
    enum { AGENTS = 64 };
    agent ag[AGENTS];
    uint64_t budget = events;
    for (int i = 0; i < AGENTS; i++) {
        ag[i] = (agent){k, (uint64_t)i * 7919 + 1, &budget, clocked};
        scim_kernel_schedule(k, clocked ? 0 : (scim_time_t)i, SCIM_PRIO_DEFAULT, tick, &ag[i], 0);
    }
    double t0 = now_s();
    if (scim_kernel_run(k, &err) != 0) {
        fprintf(stderr, "bench_kernel: %s\n", err.msg);
        exit(1);
    }
    double dt = now_s() - t0;
    double rate = (double)scim_kernel_events_executed(k) / dt;
    *per_wake = b == SCIM_BACKEND_SYSTEMC
                    ? (double)scim_kernel_events_executed(k) / (double)scim_kernel_wakeups(k)
                    : 0.0;
    scim_kernel_destroy(k);
    return rate;
}

static const char usage[] = "usage: bench_kernel [EVENTS]   (a whole number from 1 to 10^12; default 5000000)\n";

int main(int argc, char **argv)
{
    uint64_t events = 5000000;
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc > 2) {
        fprintf(stderr, "bench_kernel: unexpected argument '%s'\n%s", argv[2], usage);
        return 2;
    }
    if (argc == 2) {
        char *end;
        errno = 0;
        events = strtoull(argv[1], &end, 10);
        if (argv[1][0] < '0' || argv[1][0] > '9' || *end || errno || events == 0 || events > UINT64_C(1000000000000)) {
            fprintf(stderr, "bench_kernel: '%s' is not a valid number of events\n%s", argv[1], usage);
            return 2;
        }
    }
    printf("events: %llu\n", (unsigned long long)events);
    printf("%-28s %12s %16s\n", "backend / timing", "Mevents/s", "events/wake-up");
    static const struct { const char *name; scim_backend b; int clocked; } cases[] = {
        {"native, random delays", SCIM_BACKEND_NATIVE, 0},
        {"systemc, random delays", SCIM_BACKEND_SYSTEMC, 0},
        {"native, 1 ns clock", SCIM_BACKEND_NATIVE, 1},
        {"systemc, 1 ns clock", SCIM_BACKEND_SYSTEMC, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double per_wake;
        double rate = run(cases[i].b, cases[i].clocked, events, &per_wake);
        if (per_wake > 0)
            printf("%-28s %12.2f %16.1f\n", cases[i].name, rate / 1e6, per_wake);
        else
            printf("%-28s %12.2f %16s\n", cases[i].name, rate / 1e6, "-");
    }
    return 0;
}
