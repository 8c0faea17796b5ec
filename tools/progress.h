/* The progress display of `scimitar run` (progress.c): driven by host
 * time, never by simulated events, so it cannot change a statistic. */
#ifndef SCIMITAR_TOOLS_PROGRESS_H
#define SCIMITAR_TOOLS_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "scimitar/scimitar.h"

typedef enum cli_progress_mode { CLI_PROGRESS_AUTO, CLI_PROGRESS_OFF, CLI_PROGRESS_LINE, CLI_PROGRESS_BAR } cli_progress_mode;

typedef struct cli_progress {
    cli_progress_mode mode;
    scim_sim *sim;
    FILE *out;
    double interval;     /* host seconds between redraws */
    double t0, last;     /* host time of the start, of the last redraw */
    uint64_t last_events;
    bool shown;          /* a bar is on the screen: erase it at the end */
} cli_progress;

/* "off", "line" or "bar" (--progress=MODE); false for anything else. */
bool cli_progress_parse(const char *s, cli_progress_mode *mode);
/* Resolve AUTO (bar on a terminal, line otherwise; off when quiet), take
 * the interval (SCIMITAR_PROGRESS_INTERVAL seconds, else 0.2 s for the bar
 * and 30 s for lines) and install the hook on sim. */
void cli_progress_start(cli_progress *p, scim_sim *sim, cli_progress_mode mode, bool quiet);
/* After the run: erase the bar. */
void cli_progress_end(cli_progress *p);

#endif
