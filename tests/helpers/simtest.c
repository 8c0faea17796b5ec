#include "helpers/simtest.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

void tmpdir_make(char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/scimtest.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

void tmpdir_remove(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

void write_file(const char *dir, const char *name, const char *text, char *path_out, size_t len)
{
    snprintf(path_out, len, "%s/%s", dir, name);
    FILE *f = fopen(path_out, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

scim_sim *run_yaml(const char *yaml)
{
    scim_sim *sim = scim_sim_create();
    ck_assert_ptr_nonnull(sim);
    int rc = scim_sim_load_string(sim, yaml, "test.yaml");
    if (!rc)
        rc = scim_sim_build(sim);
    if (!rc)
        rc = scim_sim_run(sim);
    ck_assert_msg(rc == 0, "simulation failed: %s", scim_sim_errmsg(sim));
    return sim;
}

int build_yaml(const char *yaml, char *msg, size_t len)
{
    scim_sim *sim = scim_sim_create();
    int rc = scim_sim_load_string(sim, yaml, "test.yaml");
    if (!rc)
        rc = scim_sim_build(sim);
    snprintf(msg, len, "%s", scim_sim_errmsg(sim));
    scim_sim_destroy(sim);
    return rc;
}

double stat_of(scim_sim *sim, const char *name)
{
    double v = -1;
    ck_assert_msg(scim_stats_lookup(scim_sim_stats(sim), name, &v) == 0, "no statistic named %s", name);
    return v;
}

char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int run_cmd(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
