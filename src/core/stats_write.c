/* Statistics output: deterministic JSON and CSV of the flat view, written
 * to streams or atomically to a directory, and the markdown reference of a
 * declaration table. Contract in core/stats.h. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "core/stats_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Integers exactly; fractions as %.6f with trailing zeros (and a trailing
 * dot) removed — deterministic, valid JSON, never "nan"/"inf". */
static void format_value(scim_stat_value v, char *buf, size_t n)
{
    if (v.integral) {
        snprintf(buf, n, "%" PRIu64, v.u);
        return;
    }
    double d = isfinite(v.d) ? v.d : 0.0;
    snprintf(buf, n, "%.6f", d);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *end = buf + strlen(buf);
        while (end > dot + 1 && end[-1] == '0')
            *--end = '\0';
        if (end == dot + 1)
            *dot = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        strcpy(buf, "0");
}

static int check_lost(const scim_stats *stats, const char *what, scim_err *err)
{
    for (size_t i = 0; i < stats->nentries; i++) {
        const scim_stat_entry *e = stats->entries[i];
        if (e->kind == SCIM_STAT_HIST && scim_hist_lost(e->hist))
            return scim_err_set(err, SCIM_ENOMEM,
                                "could not write %s: histogram \"%s\" lost %" PRIu64
                                " samples because host memory ran out while recording; its "
                                "percentiles would be wrong; fix: free host memory and rerun",
                                what, e->name, scim_hist_lost(e->hist));
    }
    return SCIM_OK;
}

static int io_fail(scim_err *err, const char *what, int e)
{
    return scim_err_set(err, SCIM_EIO, "could not write %s: %s", what,
                        strerror(e ? e : EIO));
}

static int write_json_to(const scim_stats *stats, FILE *out, const char *what, scim_err *err)
{
    int rc = check_lost(stats, what, err);
    if (rc)
        return rc;
    errno = 0;
    if (fputs("{\n", out) == EOF)
        return io_fail(err, what, errno);
    char num[64];
    for (size_t i = 0; i < stats->nrows; i++) {
        const scim_stat_row *r = &stats->rows[i];
        format_value(scim_stats_row_value(r), num, sizeof num);
        if (fprintf(out, "  \"%s\": %s%s\n", r->name, num, i + 1 < stats->nrows ? "," : "") < 0)
            return io_fail(err, what, errno);
    }
    if (fputs("}\n", out) == EOF || fflush(out) == EOF || ferror(out))
        return io_fail(err, what, errno);
    return SCIM_OK;
}

/* RFC 4180: quote a field only if it holds a comma, quote or line break. */
static int put_csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n"))
        return fputs(s, out) == EOF ? -1 : 0;
    if (fputc('"', out) == EOF)
        return -1;
    for (; *s; s++) {
        if (*s == '"' && fputc('"', out) == EOF)
            return -1;
        if (fputc(*s, out) == EOF)
            return -1;
    }
    return fputc('"', out) == EOF ? -1 : 0;
}

static int write_csv_to(const scim_stats *stats, FILE *out, const char *what, scim_err *err)
{
    int rc = check_lost(stats, what, err);
    if (rc)
        return rc;
    errno = 0;
    if (fputs("name,value,unit\n", out) == EOF)
        return io_fail(err, what, errno);
    char num[64];
    for (size_t i = 0; i < stats->nrows; i++) {
        const scim_stat_row *r = &stats->rows[i];
        format_value(scim_stats_row_value(r), num, sizeof num);
        if (fprintf(out, "%s,%s,", r->name, num) < 0 || put_csv_field(out, scim_stats_row_unit(r)) < 0 ||
            fputc('\n', out) == EOF)
            return io_fail(err, what, errno);
    }
    if (fflush(out) == EOF || ferror(out))
        return io_fail(err, what, errno);
    return SCIM_OK;
}

int scim_stats_write_json(const scim_stats *stats, FILE *out, scim_err *err)
{
    if (!stats || !out)
        return scim_err_set(err, SCIM_EINVAL, "stats: NULL %s passed to scim_stats_write_json",
                            stats ? "stream" : "registry");
    return write_json_to(stats, out, "statistics JSON", err);
}

int scim_stats_write_csv(const scim_stats *stats, FILE *out, scim_err *err)
{
    if (!stats || !out)
        return scim_err_set(err, SCIM_EINVAL, "stats: NULL %s passed to scim_stats_write_csv",
                            stats ? "stream" : "registry");
    return write_csv_to(stats, out, "statistics CSV", err);
}

/* mkdir -p. Returns 0 or an errno value. */
static int mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int bad = mkdir(path, 0777) != 0 && errno != EEXIST;
        int e = errno;
        *p = '/';
        if (bad)
            return e;
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return errno;
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

typedef int (*writer_fn)(const scim_stats *, FILE *, const char *, scim_err *);

/* Write one file to its temporary name. */
static int write_tmp(const scim_stats *stats, const char *tmp, const char *final, writer_fn fn,
                     scim_err *err)
{
    errno = 0;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return io_fail(err, final, errno);
    int rc = fn(stats, f, final, err);
    errno = 0;
    if (fclose(f) != 0 && rc == SCIM_OK)
        rc = io_fail(err, final, errno);
    return rc;
}

int scim_stats_write_dir(const scim_stats *stats, const char *dir, scim_err *err)
{
    if (!stats || !dir || !dir[0])
        return scim_err_set(err, SCIM_EINVAL,
                            "stats: scim_stats_write_dir needs a registry and a non-empty "
                            "directory name");
    size_t ld = strlen(dir);
    while (ld > 1 && dir[ld - 1] == '/')
        ld--;
    /* "<dir>/stats.json.tmp.<pid>" */
    size_t cap = ld + 64;
    char *d = malloc(ld + 1);
    char *json = malloc(cap), *csv = malloc(cap), *tjson = malloc(cap), *tcsv = malloc(cap);
    int rc = SCIM_OK;
    if (!d || !json || !csv || !tjson || !tcsv) {
        rc = scim_err_set(err, SCIM_ENOMEM, "could not write %.*s/stats.json: out of host memory",
                          (int)ld, dir);
        goto out;
    }
    memcpy(d, dir, ld);
    d[ld] = '\0';
    const char *sep = strcmp(d, "/") == 0 ? "" : "/";
    long pid = (long)getpid();
    snprintf(json, cap, "%s%sstats.json", d, sep);
    snprintf(csv, cap, "%s%sstats.csv", d, sep);
    snprintf(tjson, cap, "%s.tmp.%ld", json, pid);
    snprintf(tcsv, cap, "%s.tmp.%ld", csv, pid);

    int e = mkdir_p(d);
    if (e) {
        rc = scim_err_set(err, SCIM_EIO,
                          "could not write %s: cannot create directory \"%s\": %s; fix: choose "
                          "an output directory whose path is free or already a directory",
                          json, d, strerror(e));
        goto out;
    }
    /* Both files are complete before either replaces an older one. */
    rc = write_tmp(stats, tjson, json, write_json_to, err);
    if (rc == SCIM_OK)
        rc = write_tmp(stats, tcsv, csv, write_csv_to, err);
    if (rc == SCIM_OK && rename(tjson, json) != 0)
        rc = io_fail(err, json, errno);
    if (rc == SCIM_OK && rename(tcsv, csv) != 0)
        rc = io_fail(err, csv, errno);
    if (rc != SCIM_OK) {
        /* unlink of a name that was renamed or never created fails harmlessly */
        unlink(tjson);
        unlink(tcsv);
    }
out:
    free(d);
    free(json);
    free(csv);
    free(tjson);
    free(tcsv);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Documentation                                                             */

static int put_md_cell(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        int rc;
        if (*s == '|')
            rc = fputs("\\|", out);
        else if (*s == '\n' || *s == '\r')
            rc = fputc(' ', out);
        else
            rc = fputc(*s, out);
        if (rc == EOF)
            return -1;
    }
    return 0;
}

int scim_stats_doc_markdown(FILE *out, const char *prefix_pattern, const scim_stat_decl *decls,
                            size_t n)
{
    if (!out || (n > 0 && !decls))
        return SCIM_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!decls[i].name)
            return SCIM_EINVAL;
    const char *pp = prefix_pattern ? prefix_pattern : "";
    if (fputs("| name | kind | unit | description |\n|---|---|---|---|\n", out) == EOF)
        return SCIM_EIO;
    for (size_t i = 0; i < n; i++) {
        const scim_stat_decl *d = &decls[i];
        bool hist = d->kind == SCIM_STAT_HIST;
        if (fprintf(out, "| `%s%s", pp, pp[0] ? "." : "") < 0 || put_md_cell(out, d->name) < 0 ||
            fprintf(out, "` | %s | ", hist ? "histogram" : d->kind == SCIM_STAT_LEVEL ? "level" : "counter") < 0 ||
            put_md_cell(out, d->unit) < 0 || fputs(" | ", out) == EOF ||
            put_md_cell(out, d->desc) < 0)
            return SCIM_EIO;
        if (hist && fputs(" Rows: `.count` `.mean` `.min` `.p50` `.p90` `.p99` `.max`.", out) == EOF)
            return SCIM_EIO;
        if (fputs(" |\n", out) == EOF)
            return SCIM_EIO;
    }
    return fflush(out) == EOF ? SCIM_EIO : SCIM_OK;
}
