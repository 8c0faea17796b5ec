/* `scimitar run --progress=off|line|bar`.
 *
 * The library calls the hook between events (every 16,384 events; not an
 * event, so no statistic can depend on it, cli_progress.sh proves it); the
 * hook redraws only when `interval` seconds of HOST time have passed since
 * the last redraw, so an idle gap in a trace (many simulated seconds, few
 * events) costs nothing and a terminal is not flooded.
 *
 *   bar   one line on a terminal, redrawn in place (\r, erase to the end of
 *         the line; cut to the terminal's width, so it never wraps):
 *         simulated time, trace position (bytes of the trace files read of
 *         their size; a gzip trace counts compressed bytes), events per
 *         second since the last redraw, elapsed time and ETA (from the
 *         trace fraction).
 *   line  the same facts as a plain line every 30 s, for logs (Slurm, CI).
 *
 * SCIMITAR_PROGRESS_INTERVAL=SECONDS overrides the interval of either mode
 * (0: every call of the hook; the tests use it). */
#define _DEFAULT_SOURCE /* TIOCGWINSZ */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "scimitar/kernel.h"

#define BAR_INTERVAL_S 0.2
#define LINE_INTERVAL_S 30.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bool cli_progress_parse(const char *s, cli_progress_mode *mode)
{
    static const struct {
        const char *name;
        cli_progress_mode mode;
    } names[] = {{"off", CLI_PROGRESS_OFF}, {"line", CLI_PROGRESS_LINE}, {"bar", CLI_PROGRESS_BAR}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *mode = names[i].mode;
            return true;
        }
    return false;
}

/* 1.5 MiB, 312 KiB, 80 B */
static void fmt_bytes(uint64_t b, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof unit / sizeof unit[0]) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* simulated time in the unit its size suggests */
static void fmt_sim(scim_time_t ps, char *buf, size_t len)
{
    double v = (double)ps;
    if (v >= 1e12)
        snprintf(buf, len, "%.3f s", v / 1e12);
    else if (v >= 1e9)
        snprintf(buf, len, "%.3f ms", v / 1e9);
    else
        snprintf(buf, len, "%.3f us", v / 1e6);
}

static void fmt_secs(double s, char *buf, size_t len)
{
    if (s >= 3600)
        snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else if (s >= 60)
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, len, "%.0f s", s);
}

static void hook(void *ctx, scim_time_t now, double fraction)
{
    cli_progress *p = ctx;
    double t = now_s();
    if (t - p->last < p->interval)
        return;
    uint64_t ev = scim_kernel_events_executed(scim_sim_kernel(p->sim));
    double rate = t > p->last ? (double)(ev - p->last_events) / (t - p->last) : 0.0;
    p->last = t;
    p->last_events = ev;
    double el = t - p->t0;
    char sim[32], done[32], total[32], els[32], eta[48] = "?";
    uint64_t d = 0, tot = 0;
    scim_sim_trace_position(p->sim, &d, &tot);
    fmt_sim(now, sim, sizeof sim);
    fmt_bytes(d, done, sizeof done);
    fmt_bytes(tot, total, sizeof total);
    fmt_secs(el, els, sizeof els);
    if (fraction > 0.0 && fraction < 1.0)
        fmt_secs(el / fraction * (1.0 - fraction), eta, sizeof eta);
    char trace[96];
    if (tot)
        snprintf(trace, sizeof trace, "trace %s/%s (%.1f%%)", done, total, fraction * 100.0);
    else
        snprintf(trace, sizeof trace, "trace position unknown");
    if (p->mode == CLI_PROGRESS_BAR) {
        char line[256];
        snprintf(line, sizeof line, "sim %s | %s | %.2f M ev/s | %s | ETA %s", sim, trace, rate / 1e6, els, eta);
        struct winsize ws;
        size_t cols = ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
        if (cols - 1 < sizeof line)
            line[cols - 1] = '\0';
        fprintf(p->out, "\r%s\033[K", line);
        p->shown = true;
    } else {
        fprintf(p->out, "scimitar: progress: simulated %s, %s, %.2f M events/s, elapsed %s, ETA %s\n", sim, trace,
                rate / 1e6, els, eta);
    }
    fflush(p->out);
}

void cli_progress_start(cli_progress *p, scim_sim *sim, cli_progress_mode mode, bool quiet)
{
    memset(p, 0, sizeof *p);
    if (mode == CLI_PROGRESS_AUTO)
        mode = quiet ? CLI_PROGRESS_OFF : isatty(STDERR_FILENO) ? CLI_PROGRESS_BAR : CLI_PROGRESS_LINE;
    p->mode = mode;
    p->sim = sim;
    p->out = stderr;
    p->interval = mode == CLI_PROGRESS_BAR ? BAR_INTERVAL_S : LINE_INTERVAL_S;
    const char *env = getenv("SCIMITAR_PROGRESS_INTERVAL");
    char *end;
    double v = env && *env ? strtod(env, &end) : -1.0;
    if (env && *env && !*end && v >= 0.0)
        p->interval = v;
    p->t0 = p->last = now_s();
    if (mode != CLI_PROGRESS_OFF)
        scim_sim_set_progress(sim, hook, p);
}

void cli_progress_end(cli_progress *p)
{
    if (p->mode != CLI_PROGRESS_OFF && p->sim)
        scim_sim_set_progress(p->sim, NULL, NULL);
    if (p->shown)
        fprintf(p->out, "\r\033[K");
}
