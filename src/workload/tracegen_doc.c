/* Workload generators' help text, markdown reference (docs/workloads.md)
 * and run summary, printed from the kind and option tables. */
#include "workload/tracegen_internal.h"

#include <string.h>

static void wrap(FILE *out, const char *text, int indent, int width)
{
    int col = indent;
    fprintf(out, "%*s", indent, "");
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, " ");
        if (col > indent && col + 1 + (int)n > width) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", (int)n, p);
        col += (int)n;
        p += n;
        while (*p == ' ')
            p++;
    }
    fputc('\n', out);
}

static const char *metavar(const scim_tg_opt *o)
{
    switch (o->type) {
    case O_U64: return "N";
    case O_SIZE: return "BYTES";
    case O_TIME: return "TIME";
    case O_F64: return "X";
    case O_ENUM: return o->choices;
    default: return "SIZE:W,...";
    }
}

int scim_tracegen_help(const char *kind, FILE *out)
{
    const scim_tg_kind *k = scim_tg_find_kind(kind);
    if (!k)
        return SCIM_EINVAL;
    fprintf(out, "scimitar trace gen %s: %s\n\n", k->name, k->title);
    wrap(out, k->about, 2, 78);
    fprintf(out, "\n  Layout per tenant:\n");
    wrap(out, k->layout, 4, 78);
    fprintf(out, "  CPU trace (--cpu-trace):\n");
    wrap(out, k->cpu, 4, 78);
    fprintf(out, "\nOptions (default, unit):\n");
    for (size_t i = 0; i < SCIM_TG_N_OPTS; i++) {
        const scim_tg_opt *o = &scim_tg_opts[i];
        if (!(o->kinds & k->mask))
            continue;
        fprintf(out, "  --%s %s%s%s%s  (default %s)\n", o->name, metavar(o), o->unit[0] ? " [" : "", o->unit,
                o->unit[0] ? "]" : "", o->def);
        wrap(out, o->doc, 8, 78);
    }
    return ferror(out) ? SCIM_EIO : 0;
}

static void md_cell(FILE *out, const char *s)
{
    for (; *s; s++)
        fputs(*s == '|' ? "\\|" : (char[2]){*s, 0}, out);
}

static void md_row(FILE *out, const scim_tg_opt *o)
{
    fprintf(out, "| `--%s` | %s | %s | ", o->name, o->def, o->unit);
    if (o->type == O_ENUM) {
        md_cell(out, o->choices);
    } else if (o->type != O_DIST && o->max < 0x1p64) {
        char lo[32], hi[32];
        fprintf(out, "%s..%s", scim_tg_fmt_bound(lo, sizeof lo, o->min), scim_tg_fmt_bound(hi, sizeof hi, o->max));
    }
    fputs(" | ", out);
    md_cell(out, o->doc);
    fputs(" |\n", out);
}

static const char MD_HEAD[] = "| option | default | unit | range | description |\n|---|---|---|---|---|\n";

int scim_tracegen_doc(FILE *out)
{
    fprintf(out, "## Options of every kind\n\n%s", MD_HEAD);
    for (size_t j = 0; j < SCIM_TG_N_OPTS; j++)
        if (scim_tg_opts[j].kinds == K_ALL)
            md_row(out, &scim_tg_opts[j]);
    fputc('\n', out);
    for (size_t i = 0; i < SCIM_TG_N_KINDS; i++) {
        const scim_tg_kind *k = &scim_tg_kinds[i];
        fprintf(out, "## %s: %s\n\n%s\n\n", k->name, k->title, k->about);
        fprintf(out, "- **Layout per tenant:** %s\n- **CPU trace:** %s\n- **Guaranteed statistics:** %s\n\n",
                k->layout, k->cpu, k->guarantees);
        fprintf(out, "Options besides those of every kind:\n\n%s", MD_HEAD);
        for (size_t j = 0; j < SCIM_TG_N_OPTS; j++)
            if ((scim_tg_opts[j].kinds & k->mask) && scim_tg_opts[j].kinds != K_ALL)
                md_row(out, &scim_tg_opts[j]);
        fputc('\n', out);
    }
    return ferror(out) ? SCIM_EIO : 0;
}

static void print_size(FILE *out, uint64_t v)
{
    if (v && v % GIB == 0)
        fprintf(out, "%lluGiB", (unsigned long long)(v / GIB));
    else if (v && v % MIB == 0)
        fprintf(out, "%lluMiB", (unsigned long long)(v / MIB));
    else if (v && v % 1024 == 0)
        fprintf(out, "%lluKiB", (unsigned long long)(v / 1024));
    else
        fprintf(out, "%llu", (unsigned long long)v);
}

int scim_tracegen_summary_print(const scim_tracegen_summary *s, FILE *out)
{
    double span = (double)(s->last_ns - s->first_ns);
    fprintf(out, "kind: %s\nops: %llu\nrecords: %llu\nbytes.read: %llu\nbytes.written: %llu\n", s->kind,
            (unsigned long long)s->ops, (unsigned long long)s->records, (unsigned long long)s->read_bytes,
            (unsigned long long)s->write_bytes);
    fprintf(out, "footprint.pages_4k: %llu\nfootprint.bytes: %llu\n", (unsigned long long)s->pages_4k,
            (unsigned long long)(s->pages_4k * PAGE));
    fprintf(out, "time.first_ns: %llu\ntime.last_ns: %llu\nrate.bytes_per_ns: %.4f\n",
            (unsigned long long)s->first_ns, (unsigned long long)s->last_ns,
            span > 0 ? (double)(s->read_bytes + s->write_bytes) / span : 0.0);
    if (s->cpu_records)
        fprintf(out, "cpu.records: %llu\ncpu.footprint.pages_4k: %llu\n", (unsigned long long)s->cpu_records,
                (unsigned long long)s->cpu_pages_4k);
    fprintf(out, "# config: one process per tenant, each mapping its regions%s\nprocesses:\n",
            s->pasid_keys ? "; records carry pasid=, so any device or CPU in one of these PASIDs can replay them"
                          : "");
    for (uint32_t t = 0; t < s->tenants; t++) {
        fprintf(out, "  tenant%u:\n    pasid: %u\n    regions:\n", t, s->pasid_base + t);
        for (unsigned i = 0; i < s->n_regions; i++) {
            fprintf(out, "      - {va: 0x%llx, size: ",
                    (unsigned long long)(s->base + t * s->tenant_stride + s->regions[i].offset));
            print_size(out, s->regions[i].size);
            fprintf(out, "}   # %s\n", s->regions[i].what);
        }
    }
    return ferror(out) ? SCIM_EIO : 0;
}
