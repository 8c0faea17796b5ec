/* Workload generators (workload/tracegen.h, docs/workloads.md): the kinds
 * and the one entry point that turns a kind and its options into traces.
 *
 * Every generator (tracegen_<kind>.c) is a loop that produces timed records
 * through an emitter per output (tracegen_emit.c); options are declared
 * once in a table (tracegen_opts.c) that parsing, --help and the docs
 * (tracegen_doc.c) all read; the random draws are in tracegen_rng.c.
 *
 * Determinism: one xoshiro256** stream seeded from --seed, drawn in a fixed
 * order; no host state (time, addresses, hash order) reaches the output. */
#include "workload/tracegen_internal.h"

#include <stdlib.h>
#include <string.h>

/* The user half of a 57-bit (5-level) address space; addresses from
 * 0x800000000000 up also need 5-level page tables in the config. */
#define VA_LIMIT (1ull << 56)
/* Open gzip streams cost ~300 KiB each. */
#define MAX_CPU_TRACES 1024

/* ------------------------------------------------------------------------ */
/* Kinds */

const scim_tg_kind scim_tg_kinds[] = {
    {"nic-rx", K_RX, "NIC receive",
     "Packets arrive at line rate with sizes drawn from --sizes. Per packet the NIC reads the next 16 B "
     "descriptor of the tenant's ring, writes the payload into the buffer that descriptor holds, and writes "
     "a 16 B completion; the descriptor is then refilled from the buffer pool's free list (--recycle).",
     "descriptor ring (entries x 16 B) at +0, completion ring right after it, buffer pool (buffers x "
     "buffer-size) at the next 1 MiB boundary after the rings.",
     "app-delay after each completion the application reads the completion and the payload, and re-posts "
     "the descriptor (a 16 B write).",
     "Mean payload size = the distribution's mean; wire bytes (payload + framing) per ns = rate / 8 to "
     "within 1 ns over the trace; footprint = the rings' pages plus every buffer's pages (fifo, once count >= "
     "buffers) or the first entries buffers' (lifo); CPU payload reads match the DMA payload writes one to "
     "one, app-delay later.",
     scim_tg_gen_nic_rx},
    {"nic-tx", K_TX, "NIC transmit",
     "Packets leave at line rate with sizes drawn from --sizes. Per packet the NIC reads the next 16 B "
     "descriptor, reads the payload from the buffer it points to, and writes a 16 B completion. The first "
     "packet leaves at app-delay.",
     "as nic-rx.",
     "app-delay before each packet the application writes the payload into the buffer and writes the "
     "descriptor; app-delay after it, it reads the completion.",
     "As nic-rx, with the payload read by the device, and every CPU payload write app-delay before the "
     "matching DMA payload read.",
     scim_tg_gen_nic_tx},
    {"storage", K_STO, "NVMe-like block storage",
     "A closed loop keeps queue-depth I/Os in flight. Per I/O the device reads a 64 B submission entry, "
     "transfers one block (a read I/O writes memory, a write I/O reads it) at --bandwidth, one transfer at "
     "a time in order of readiness, and writes a 16 B completion; the media latency comes before a read's "
     "transfer and after a write's. The first I/Os are submitted at app-delay.",
     "submission ring (entries x 64 B) at +0, completion ring (entries x 16 B) right after it, the file's "
     "buffer region (file-size) at the next 1 MiB boundary.",
     "The application writes each write I/O's block app-delay before submitting it, and reads each read "
     "I/O's block app-delay after its completion.",
     "Fraction of I/Os that are reads = read-fraction (binomial); data throughput = min(bandwidth, "
     "queue-depth x block-size / (latency + block-size / bandwidth)) in steady state, exactly when every I/O "
     "goes one way or the bandwidth is the bottleneck (a mixed load whose transfers are long next to the "
     "latency loses a few percent to contention for the link); seq touches min(count, B) distinct blocks, "
     "rand B(1 - (1 - 1/B)^count) on average, B = file-size / block-size.",
     scim_tg_gen_storage},
    {"kv", K_KV, "RDMA key-value store (one-sided)",
     "Clients issue back-to-back one-sided operations on objects of a registered region, at --rate: a get "
     "is an RDMA READ (the NIC reads the object), a put an RDMA WRITE (the NIC writes it). Objects are "
     "chosen by Zipf popularity (--zipf) and placed by --placement.",
     "the region (region bytes) at +0.",
     "After each put, the server reads the object app-delay later (server-side touch); gets involve no CPU.",
     "Fraction of gets = get-fraction (binomial); the most popular object's share of operations = "
     "1 / H(n, theta) and rank r's = r^-theta / H(n, theta), n = region / object-size; wire bytes per ns = "
     "rate / 8 to within 1 ns.",
     scim_tg_gen_kv},
    {"stream", K_STR, "accelerator / GPU array sweeps",
     "The device sweeps over arrays with a fixed stride and access size, back to back at --bandwidth, "
     "reading all arrays but the last write-arrays, which it writes.",
     "arrays x array-size, each array starting on a 2 MiB boundary, at +0.",
     "Before the device starts, the application initializes every array, one 4 KiB write at a time at "
     "cpu-bandwidth.",
     "Exactly count accesses (or passes x arrays x positions x tenants); footprint = every page of every "
     "array when stride <= 4 KiB and count covers a pass; bytes per ns = bandwidth to within 1 ns; the "
     "read/write split is exactly (arrays - write-arrays) : write-arrays per full pass.",
     scim_tg_gen_stream},
};
_Static_assert(sizeof scim_tg_kinds / sizeof scim_tg_kinds[0] == SCIM_TG_N_KINDS,
               "SCIM_TG_N_KINDS (tracegen_internal.h) must count scim_tg_kinds");

int scim_tracegen_kind_count(void) { return (int)SCIM_TG_N_KINDS; }
const char *scim_tracegen_kind_name(int i)
{
    return i >= 0 && (size_t)i < SCIM_TG_N_KINDS ? scim_tg_kinds[i].name : NULL;
}

const scim_tg_kind *scim_tg_find_kind(const char *name)
{
    for (size_t i = 0; i < SCIM_TG_N_KINDS; i++)
        if (name && strcmp(scim_tg_kinds[i].name, name) == 0)
            return &scim_tg_kinds[i];
    return NULL;
}

bool scim_tracegen_kind_exists(const char *kind) { return scim_tg_find_kind(kind) != NULL; }

/* Tenant 0's regions and the span they cover. */
static unsigned layout(const scim_tg_kind *k, const scim_tg_params *p, scim_tracegen_region *r)
{
    switch (k->mask) {
    case K_RX:
    case K_TX:
        r[0] = (scim_tracegen_region){"rings", 0, scim_tg_round_up(2 * p->entries * DESC, PAGE)};
        r[1] = (scim_tracegen_region){"buffers", scim_tg_nic_pool_offset(p),
                                      scim_tg_round_up(p->buffers * p->buffer_size, PAGE)};
        return 2;
    case K_STO:
        r[0] = (scim_tracegen_region){"rings", 0, scim_tg_round_up(p->entries * (SQE + CQE), PAGE)};
        r[1] = (scim_tracegen_region){"file", scim_tg_sto_data_offset(p), scim_tg_round_up(p->file_size, PAGE)};
        return 2;
    case K_KV: r[0] = (scim_tracegen_region){"objects", 0, scim_tg_round_up(p->region, PAGE)}; return 1;
    default:
        r[0] = (scim_tracegen_region){"arrays", 0, p->arrays * scim_tg_str_array_stride(p)};
        return 1;
    }
}

/* Combinations the option table's ranges cannot express. */
static int check_params(const scim_tg_kind *k, const scim_tg_params *p, scim_err *err)
{
    const char *n = k->name;
    if (p->base % PAGE)
        return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --base 0x%llx is not 4 KiB aligned", n,
                            (unsigned long long)p->base);
    if (p->pasid_base + p->tenants - 1 > 0xfffff)
        return scim_err_set(err, SCIM_ERANGE, "trace gen %s: PASIDs %llu..%llu exceed 20 bits; lower --pasid-base "
                                              "or --tenants", n, (unsigned long long)p->pasid_base,
                            (unsigned long long)(p->pasid_base + p->tenants - 1));
    switch (k->mask) {
    case K_RX:
    case K_TX:
        if (p->buffers < p->entries)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --buffers %llu is less than --entries %llu; every "
                                                  "descriptor holds a buffer", n, (unsigned long long)p->buffers,
                                (unsigned long long)p->entries);
        if (p->sizes.max > p->buffer_size)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: packet size %llu exceeds --buffer-size %llu; raise "
                                                  "--buffer-size or change --sizes", n,
                                (unsigned long long)p->sizes.max, (unsigned long long)p->buffer_size);
        break;
    case K_STO:
        if (p->queue_depth > p->entries)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --queue-depth %llu exceeds --entries %llu", n,
                                (unsigned long long)p->queue_depth, (unsigned long long)p->entries);
        if (p->block_size > p->file_size)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --block-size exceeds --file-size", n);
        break;
    case K_KV:
        if (p->object_size > p->region)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --object-size exceeds --region", n);
        break;
    default:
        if (p->access > p->array_size)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --access exceeds --array-size", n);
        if (p->write_arrays > p->arrays)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --write-arrays exceeds --arrays", n);
        break;
    }
    return 0;
}

static int write_header(scim_trace_writer *w, const scim_tg_kind *k, const char *const *values, const char *what,
                        scim_err *err)
{
    char line[512];
    snprintf(line, sizeof line, "%s: scimitar trace gen %s (%s), with:", what, k->name, k->title);
    TRY(scim_trace_comment(w, line, err));
    for (size_t i = 0; i < SCIM_TG_N_OPTS; i++) {
        if (!(scim_tg_opts[i].kinds & k->mask))
            continue;
        snprintf(line, sizeof line, "  --%s %s", scim_tg_opts[i].name, values[i]);
        TRY(scim_trace_comment(w, line, err));
    }
    return 0;
}

/* PATH with every %t replaced by the tenant number. */
static int expand_tenant(const char *path, unsigned t, char *buf, size_t len)
{
    size_t n = 0;
    for (const char *p = path; *p; p++) {
        int w;
        if (p[0] == '%' && p[1] == 't') {
            w = snprintf(buf + n, len - n, "%u", t);
            p++;
        } else {
            w = snprintf(buf + n, len - n, "%c", *p);
        }
        if (w < 0 || (size_t)w >= len - n)
            return -1;
        n += (size_t)w;
    }
    if (n == 0)
        buf[0] = '\0';
    return 0;
}

int scim_tracegen_write(const char *kind, const scim_tracegen_opt *opts, size_t n_opts,
                        const scim_tracegen_output *out, scim_tracegen_summary *summary, scim_err *err)
{
    const scim_tg_kind *k = scim_tg_find_kind(kind);
    if (!k) {
        char list[256] = "";
        for (size_t i = 0; i < SCIM_TG_N_KINDS; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", scim_tg_kinds[i].name);
        return scim_err_set(err, SCIM_EINVAL, "trace gen: unknown kind '%s'; expected one of %s", kind ? kind : "",
                            list);
    }
    if (!out || !out->path)
        return scim_err_set(err, SCIM_EINVAL, "trace gen %s: no output file; give -o FILE", k->name);

    scim_tg_gen g = {.err = err};
    const char *values[SCIM_TG_N_OPTS];
    for (size_t i = 0; i < SCIM_TG_N_OPTS; i++) {
        values[i] = scim_tg_opts[i].def;
        if (scim_tg_opts[i].kinds & k->mask)
            TRY(scim_tg_set_value(&scim_tg_opts[i], k->name, scim_tg_opts[i].def, &g.p, err));
    }
    for (size_t j = 0; j < n_opts; j++) {
        if (!opts[j].name)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: option %zu has no name", k->name, j + 1);
        const scim_tg_opt *o = scim_tg_find_opt(opts[j].name, k->mask);
        if (!o)
            return scim_tg_unknown_opt(k, opts[j].name, err);
        if (!opts[j].value)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --%s needs a value", k->name, o->name);
        TRY(scim_tg_set_value(o, k->name, opts[j].value, &g.p, err));
        values[o - scim_tg_opts] = opts[j].value;
    }
    TRY(check_params(k, &g.p, err));

    scim_tracegen_summary s = {.kind = k->name};
    s.n_regions = layout(k, &g.p, s.regions);
    uint64_t span = s.regions[s.n_regions - 1].offset + s.regions[s.n_regions - 1].size;
    g.stride = g.p.tenant_stride ? g.p.tenant_stride : scim_tg_round_up(span, GIB);
    if (g.stride % PAGE || g.stride < span)
        return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --tenant-stride must be a multiple of 4 KiB and at "
                                              "least the layout's span (%llu bytes)", k->name,
                            (unsigned long long)span);
    if (g.p.base + (g.p.tenants - 1) * g.stride + span > VA_LIMIT)
        return scim_err_set(err, SCIM_ERANGE, "trace gen %s: the layout ends beyond 0x%llx (the user address "
                                              "space); lower --base, --tenants or the sizes", k->name,
                            (unsigned long long)VA_LIMIT);
    scim_tg_rng_seed(&g.r, g.p.seed);
    bool keys = g.p.tenants > 1 || g.p.pasid_base != 1;
    g.dma = (scim_tg_emitter){.rel = g.p.timing == TIMING_REL, .pasid_keys = keys};
    scim_u64map_init(&g.dma.pages);
    int rc = 0;
    if (out->cpu_path) {
        if (g.p.tenants > 1 && !strstr(out->cpu_path, "%t"))
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: with --tenants %llu, the CPU trace's name needs %%t "
                                                  "(replaced by the tenant number): a core runs one address space, "
                                                  "so each tenant gets its own CPU trace", k->name,
                                (unsigned long long)g.p.tenants);
        if (g.p.tenants > MAX_CPU_TRACES)
            return scim_err_set(err, SCIM_ERANGE, "trace gen %s: at most %d CPU traces (--tenants) at once", k->name,
                                MAX_CPU_TRACES);
        g.ncpu = g.p.tenants;
        if (!(g.cpu = calloc(g.ncpu, sizeof *g.cpu)))
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        for (size_t i = 0; i < g.ncpu; i++) {
            g.cpu[i] = (scim_tg_emitter){.rel = g.dma.rel, .pasid_keys = keys};
            scim_u64map_init(&g.cpu[i].pages);
        }
    }

    g.dma.w = scim_trace_create(out->path, out->format, out->gzip, err);
    if (!g.dma.w)
        rc = err && err->code ? err->code : SCIM_EIO;
    char cpu_path[4096];
    for (size_t i = 0; rc == 0 && i < g.ncpu; i++) {
        if (expand_tenant(out->cpu_path, (unsigned)i, cpu_path, sizeof cpu_path) != 0)
            rc = scim_err_set(err, SCIM_EINVAL, "trace gen %s: CPU trace name too long", k->name);
        else if (strcmp(cpu_path, out->path) == 0)
            rc = scim_err_set(err, SCIM_EINVAL, "trace gen %s: the CPU trace and the device trace are both %s",
                              k->name, out->path);
        else if (!(g.cpu[i].w = scim_trace_create(cpu_path, out->cpu_format, out->cpu_gzip, err)))
            rc = err && err->code ? err->code : SCIM_EIO;
    }
    if (rc == 0)
        rc = write_header(g.dma.w, k, values, "device trace", err);
    for (size_t i = 0; rc == 0 && i < g.ncpu; i++)
        rc = write_header(g.cpu[i].w, k, values, "CPU trace", err);
    if (rc == 0)
        rc = k->run(&g);
    if (rc == 0)
        rc = scim_tg_em_flush_all(&g.dma, err);
    if (rc == 0)
        rc = scim_tg_cpu_flush(&g, UINT64_MAX);
    if (rc == 0) {
        /* publish the device trace last, so that a failure leaves none of it */
        size_t done = 0;
        for (; done < g.ncpu; done++) {
            rc = scim_trace_finish(g.cpu[done].w, err);
            g.cpu[done].w = NULL;
            if (rc != 0)
                break;
        }
        if (rc == 0) {
            rc = scim_trace_finish(g.dma.w, err);
            g.dma.w = NULL;
        }
        for (size_t i = 0; rc != 0 && i < done; i++)
            if (expand_tenant(out->cpu_path, (unsigned)i, cpu_path, sizeof cpu_path) == 0 && strcmp(cpu_path, "-"))
                remove(cpu_path);
    }
    scim_trace_abort(g.dma.w);
    for (size_t i = 0; i < g.ncpu; i++)
        scim_trace_abort(g.cpu[i].w);
    if (rc == 0 && summary) {
        s.ops = g.ops;
        s.records = g.dma.records;
        s.read_bytes = g.dma.read_bytes;
        s.write_bytes = g.dma.write_bytes;
        s.pages_4k = g.dma.pages.len;
        s.first_ns = g.dma.first_t;
        s.last_ns = g.dma.last_t;
        for (size_t i = 0; i < g.ncpu; i++) {
            s.cpu_records += g.cpu[i].records;
            s.cpu_pages_4k += g.cpu[i].pages.len;
        }
        s.base = g.p.base;
        s.tenant_stride = g.stride;
        s.tenants = (uint32_t)g.p.tenants;
        s.pasid_base = (uint32_t)g.p.pasid_base;
        s.pasid_keys = keys;
        *summary = s;
    }
    scim_tg_em_free(&g.dma);
    for (size_t i = 0; i < g.ncpu; i++)
        scim_tg_em_free(&g.cpu[i]);
    free(g.cpu);
    return rc;
}
