/* config.yaml and meta.json beside a run's statistics (run_record.c). */
#ifndef SCIMITAR_TOOLS_RUN_RECORD_H
#define SCIMITAR_TOOLS_RUN_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "scimitar/scimitar.h"

typedef struct run_info {
    const char *config;       /* the configuration file given */
    const char *const *sets;  /* the --set overrides, in order */
    size_t n_sets;
    double started;           /* host time (s since the epoch) the run began */
    double wall_seconds;
} run_info;

/* 0, or -1 with the reason in why. */
int cli_write_run_record(scim_sim *sim, const char *out, const run_info *info, char *why, size_t why_len);

#endif
