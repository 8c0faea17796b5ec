/* What a run leaves beside its statistics so that it explains itself
 * (like gem5's config.json): config.yaml, the configuration as run (every
 * key, defaults filled in; `scimitar run` on it builds the same model),
 * and meta.json, what ran where: scimitar's version and git revision, the
 * configuration file and overrides, seed, kernel backend, host, when and
 * how long. meta.json is about the run, not its results: nothing in it is
 * a statistic, and stats.json never depends on it. */
#define _DEFAULT_SOURCE /* gethostname */
#include "run_record.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "scimitar/kernel.h"

#ifndef SCIM_GIT_REVISION
#define SCIM_GIT_REVISION "unknown"
#endif

/* A JSON string, escaped. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

int cli_write_run_record(scim_sim *sim, const char *out, const run_info *info, char *why, size_t why_len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.yaml", out);
    if (scim_sim_write_config(sim, path) != 0) {
        snprintf(why, why_len, "%s", scim_sim_errmsg(sim));
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        snprintf(why, why_len, "out of host memory");
        return -1;
    }
    char cfg_abs[PATH_MAX], host[256] = "unknown";
    struct utsname u;
    bool have_uname = uname(&u) == 0;
    gethostname(host, sizeof host - 1);
    fprintf(f, "{\n  \"scimitar\": ");
    json_str(f, scim_version_string());
    fprintf(f, ",\n  \"git_revision\": ");
    json_str(f, SCIM_GIT_REVISION);
    fprintf(f, ",\n  \"config\": ");
    json_str(f, realpath(info->config, cfg_abs) ? cfg_abs : info->config);
    fprintf(f, ",\n  \"overrides\": [");
    for (size_t i = 0; i < info->n_sets; i++) {
        fputs(i ? ", " : "", f);
        json_str(f, info->sets[i]);
    }
    fprintf(f, "],\n  \"resolved_config\": \"config.yaml\",\n  \"seed\": %llu,\n  \"kernel_backend\": ",
            (unsigned long long)scim_sim_seed(sim));
    json_str(f, scim_kernel_backend(scim_sim_kernel(sim)) == SCIM_BACKEND_NATIVE ? "native" : "systemc");
    fprintf(f, ",\n  \"host\": {\"name\": ");
    json_str(f, host);
    fprintf(f, ", \"system\": ");
    char sys[600] = "unknown";
    if (have_uname)
        snprintf(sys, sizeof sys, "%s %s %s", u.sysname, u.release, u.machine);
    json_str(f, sys);
    fprintf(f, ", \"cpus\": %ld},\n  \"started_utc\": ", sysconf(_SC_NPROCESSORS_ONLN));
    char when[64];
    struct tm tm;
    time_t t = (time_t)info->started;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    json_str(f, when);
    static const char *const fast_use[] = {[SCIM_FAST_PATH_OFF] = "off", [SCIM_FAST_PATH_ON] = "on",
                                           [SCIM_FAST_PATH_REDONE] = "redone", [SCIM_FAST_PATH_WINDOW] = "window"};
    fprintf(f, ",\n  \"wall_seconds\": %.3f,\n  \"events\": %llu,\n  \"fast_path\": \"%s\",", info->wall_seconds,
            (unsigned long long)scim_kernel_events_executed(scim_sim_kernel(sim)), fast_use[scim_sim_fast_path(sim)]);
    const char *conflict = scim_sim_fast_path_conflict(sim);
    if (conflict) {
        fprintf(f, "\n  \"fast_path_conflict\": ");
        json_str(f, conflict);
        fputc(',', f);
    }
    fprintf(f, "\n  \"simulated_ps\": %llu\n}\n", (unsigned long long)scim_sim_now(sim));
    fclose(f);
    snprintf(path, sizeof path, "%s/meta.json", out);
    int rc = cli_write_atomic(path, text);
    if (rc)
        snprintf(why, why_len, "could not write %s: %s", path, strerror(errno));
    free(text);
    return rc;
}
