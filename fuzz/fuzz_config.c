/* libFuzzer target: configuration text through the real loader.
 *
 * The input is a YAML document. If its first line is "#set key=value"
 * (a YAML comment), that override is applied as the CLI's --set would.
 * Then, without building or running anything:
 *   - every section is bound to the simulator's own parameter tables the way
 *     scim_sim_build() binds them (memory, fabric, fabric.links, iommu, os,
 *     processes and their regions, devices, cpus);
 *   - every scalar is parsed as every value type;
 *   - the canonical dump must reload, dump to the same bytes and hash alike.
 * A property violation traps (a crash for libFuzzer).
 *
 * Built with -fsanitize=fuzzer by CMake (-DSCIM_FUZZ=ON); tests/
 * test_fuzz_corpus.c compiles this same file without libFuzzer to replay
 * fuzz/corpus/config under the sanitizers in CI. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "mmu/cpu.h"
#include "device/device.h"
#include "core/fabric.h"
#include "iommu/iommu.h"
#include "mmu/memctl.h"
#include "os/os.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef union fz_cfg_out {
    scim_memctl_params mem;
    scim_fabric_params fab;
    scim_link_params link;
    scim_iommu_params io;
    scim_os_params os;
    scim_process_params proc;
    scim_region_params region;
    scim_device_params dev;
    scim_cpu_params cpu;
} fz_cfg_out;

static void fz_cfg_bind(const scim_cfg_node *n, const char *where, const scim_param_decl *d, size_t count)
{
    fz_cfg_out out;
    scim_err err = {0};
    memset(&out, 0, sizeof out);
    scim_cfg_bind(n, where, d, count, &out, NULL, &err);
    if (err.code && strlen(err.msg) == 0)
        __builtin_trap(); /* every error says something */
}

/* Each entry of a map section ("devices: {nic0: {...}}") bound to a table. */
static void fz_cfg_bind_each(const scim_cfg_node *sec, const char *what, const scim_param_decl *d, size_t count)
{
    if (!sec || scim_cfg_node_kind(sec) != SCIM_CFG_MAP)
        return;
    for (size_t i = 0; i < scim_cfg_node_count(sec); i++) {
        char where[300];
        snprintf(where, sizeof where, "%s.%s", what, scim_cfg_map_key(sec, i));
        fz_cfg_bind(scim_cfg_map_value(sec, i), where, d, count);
    }
}

static void fz_cfg_sections(const scim_cfg_node *root)
{
    fz_cfg_bind(scim_cfg_map_get(root, "memory"), "memory", scim_memctl_param_decls, scim_memctl_param_decl_count);
    fz_cfg_bind(scim_cfg_map_get(root, "fabric"), "fabric", scim_fabric_param_decls, scim_fabric_param_decl_count);
    fz_cfg_bind(scim_cfg_map_get(root, "iommu"), "iommu", scim_iommu_param_decls, scim_iommu_param_decl_count);
    fz_cfg_bind(scim_cfg_map_get(root, "os"), "os", scim_os_param_decls, scim_os_param_decl_count);
    const scim_cfg_node *links = scim_cfg_get_path(root, "fabric.links");
    if (links && scim_cfg_node_kind(links) == SCIM_CFG_SEQ)
        for (size_t i = 0; i < scim_cfg_node_count(links); i++)
            fz_cfg_bind(scim_cfg_seq_item(links, i), "fabric.links", scim_link_param_decls,
                        scim_link_param_decl_count);
    const scim_cfg_node *procs = scim_cfg_map_get(root, "processes");
    fz_cfg_bind_each(procs, "processes", scim_process_param_decls, scim_process_param_decl_count);
    if (procs && scim_cfg_node_kind(procs) == SCIM_CFG_MAP) {
        for (size_t i = 0; i < scim_cfg_node_count(procs); i++) {
            const scim_cfg_node *regions = scim_cfg_map_get(scim_cfg_map_value(procs, i), "regions");
            if (regions && scim_cfg_node_kind(regions) == SCIM_CFG_SEQ)
                for (size_t r = 0; r < scim_cfg_node_count(regions); r++)
                    fz_cfg_bind(scim_cfg_seq_item(regions, r), "regions", scim_region_param_decls,
                                scim_region_param_decl_count);
        }
    }
    fz_cfg_bind_each(scim_cfg_map_get(root, "devices"), "devices", scim_device_param_decls,
                     scim_device_param_decl_count);
    fz_cfg_bind_each(scim_cfg_map_get(root, "cpus"), "cpus", scim_cpu_param_decls, scim_cpu_param_decl_count);
}

/* Every scalar as every value type. */
static void fz_cfg_values(const scim_cfg_node *n, int depth)
{
    static const char *const names[] = {"lru", "fifo", "random", "plru", NULL};
    static const struct {
        scim_param_type type;
        const char *unit;
    } types[] = {{SCIM_P_U64, NULL},       {SCIM_P_DOUBLE, NULL},     {SCIM_P_BOOL, NULL},
                 {SCIM_P_SIZE, "bytes"},   {SCIM_P_TIME, "ns"},       {SCIM_P_TIME, NULL},
                 {SCIM_P_FREQ, "Hz"},      {SCIM_P_BANDWIDTH, "B/s"}, {SCIM_P_ENUM, NULL}};
    if (!n || depth > 80)
        return;
    if (scim_cfg_node_kind(n) == SCIM_CFG_SCALAR) {
        const char *text = scim_cfg_node_scalar(n);
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            scim_param_decl d = {"k", types[t].type, "0", types[t].unit, false, 0, 0, names, 0, "doc", NULL};
            union {
                uint64_t u;
                double f;
                bool b;
                int e;
            } v;
            char why[400] = "";
            if (scim_cfg_parse_value(&d, text, &v, why, sizeof why) != 0 && why[0] == '\0')
                __builtin_trap();
        }
        return;
    }
    for (size_t i = 0; i < scim_cfg_node_count(n); i++)
        fz_cfg_values(scim_cfg_node_kind(n) == SCIM_CFG_MAP ? scim_cfg_map_value(n, i) : scim_cfg_seq_item(n, i),
                      depth + 1);
}

static int fz_cfg_depth(const scim_cfg_node *n)
{
    int d = 0;
    for (size_t i = 0; i < scim_cfg_node_count(n); i++) {
        const scim_cfg_node *c =
            scim_cfg_node_kind(n) == SCIM_CFG_MAP ? scim_cfg_map_value(n, i) : scim_cfg_seq_item(n, i);
        int k = fz_cfg_depth(c);
        if (k > d)
            d = k;
    }
    return d + 1;
}

static char *fz_cfg_dump(const scim_cfg *cfg, size_t *len)
{
    char *buf = NULL;
    *len = 0;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    scim_cfg_dump(cfg, f, NULL);
    fclose(f);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    scim_err err = {0};
    scim_cfg *cfg = scim_cfg_load_string((const char *)data, size, "fuzz.yaml", &err);
    if (!cfg) {
        if (err.code == 0 || strlen(err.msg) == 0)
            __builtin_trap();
        return 0;
    }
    if (size > 5 && memcmp(data, "#set ", 5) == 0) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t n = (size_t)((nl ? nl : data + size) - data) - 5;
        char *assign = malloc(n + 1);
        memcpy(assign, data + 5, n);
        assign[n] = '\0';
        scim_err_clear(&err);
        if (strlen(assign) == n) /* no NUL inside */
            scim_cfg_set(cfg, assign, &err);
        free(assign);
    }
    const scim_cfg_node *root = scim_cfg_root(cfg);
    fz_cfg_sections(root);
    fz_cfg_values(root, 0);

    /* the dump reloads to a tree that dumps to the same bytes (unless --set
     * nested it deeper than the loader's limit of 64 levels) */
    size_t l1, l2;
    char *d1 = fz_cfg_depth(root) <= 64 ? fz_cfg_dump(cfg, &l1) : NULL;
    if (d1) {
        scim_err_clear(&err);
        scim_cfg *again = scim_cfg_load_string(d1, l1, "dump.yaml", &err);
        if (!again) {
            fprintf(stderr, "the dump does not load: %s\n%s\n", err.msg, d1);
            __builtin_trap();
        }
        char *d2 = fz_cfg_dump(again, &l2);
        if (!d2 || l1 != l2 || memcmp(d1, d2, l1) != 0 || scim_cfg_hash(cfg) != scim_cfg_hash(again)) {
            fprintf(stderr, "the dump is not a fixed point:\n%s\n---\n%s\n", d1, d2 ? d2 : "(null)");
            __builtin_trap();
        }
        free(d2);
        scim_cfg_destroy(again);
        free(d1);
    }
    scim_cfg_destroy(cfg);
    return 0;
}
