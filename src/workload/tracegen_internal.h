/* What the workload generators' files (src/workload/tracegen*.c) share:
 * the option table and the parameters it fills, the kind table, the
 * emitters that release records in time order, the random draws, and what
 * each generator exports for the layout of its regions. Contract in
 * workload/tracegen.h. Macro and enumerator names are short: they never
 * leave these files. */
#ifndef SCIMITAR_TRACEGEN_INTERNAL_H
#define SCIMITAR_TRACEGEN_INTERNAL_H

#include <math.h>
#include <stddef.h>

#include "core/u64map.h"
#include "workload/tracegen.h"

#define PAGE 4096ull
#define MIB (1ull << 20)
#define GIB (1ull << 30)

static inline uint64_t scim_tg_round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

typedef struct scim_tg_gen scim_tg_gen; /* one generator's state (below) */

/* ------------------------------------------------------------------------ */
/* Random draws (tracegen_rng.c) */

typedef struct scim_tg_rng {
    uint64_t s[4];
} scim_tg_rng;

void scim_tg_rng_seed(scim_tg_rng *r, uint64_t seed);
double scim_tg_rng_double(scim_tg_rng *r);               /* [0, 1) with 53 random bits */
uint64_t scim_tg_rng_below(scim_tg_rng *r, uint64_t n); /* uniform in [0, n) */

/* Zipf over ranks 1..n with P(k) = k^-theta / H(n, theta). */
typedef struct scim_tg_zipf {
    double theta, n;
    double h_x1, h_n, s;
} scim_tg_zipf;

void scim_tg_zipf_init(scim_tg_zipf *z, uint64_t n, double theta);
uint64_t scim_tg_zipf_sample(const scim_tg_zipf *z, scim_tg_rng *r); /* rank in 1..n */

/* ------------------------------------------------------------------------ */
/* Options (tracegen_opts.c) */

enum { K_RX = 1u << 0, K_TX = 1u << 1, K_STO = 1u << 2, K_KV = 1u << 3, K_STR = 1u << 4 };
#define K_NIC (K_RX | K_TX)
#define K_ALL (K_NIC | K_STO | K_KV | K_STR)

#define DIST_MAX 32
typedef struct scim_tg_dist {
    unsigned n;
    uint64_t size[DIST_MAX];
    double cum[DIST_MAX]; /* normalized cumulative weights; cum[n-1] == 1 */
    double mean;
    uint64_t max;
} scim_tg_dist;

uint64_t scim_tg_dist_sample(const scim_tg_dist *d, scim_tg_rng *r); /* tracegen_rng.c */

typedef struct scim_tg_params {
    /* every kind */
    uint64_t count, seed, base, tenants, pasid_base, tenant_stride;
    double app_delay; /* ns */
    int timing;       /* TIMING_* */
    /* nic-rx, nic-tx (entries and framing also storage and kv) */
    uint64_t entries, buffers, buffer_size, framing;
    double rate; /* Gbit/s, also kv */
    scim_tg_dist sizes;
    int recycle; /* RECYCLE_* */
    /* storage (bandwidth also stream) */
    uint64_t block_size, file_size, queue_depth;
    double read_fraction, bandwidth /* GB/s */, latency /* ns */;
    int pattern; /* PATTERN_* */
    /* kv */
    uint64_t region, object_size;
    double get_fraction, zipf;
    int placement; /* PLACE_* */
    /* stream */
    uint64_t arrays, array_size, stride, access, passes, write_arrays;
    double cpu_bandwidth; /* GB/s */
    int order;            /* ORDER_* */
} scim_tg_params;

enum { TIMING_ABS, TIMING_REL };
enum { RECYCLE_FIFO, RECYCLE_LIFO };
enum { PATTERN_RAND, PATTERN_SEQ };
enum { PLACE_SCATTER, PLACE_RANK };
enum { ORDER_INTERLEAVE, ORDER_ARRAY };

typedef enum scim_tg_opt_type { O_U64, O_SIZE, O_TIME, O_F64, O_ENUM, O_DIST } scim_tg_opt_type;

typedef struct scim_tg_opt {
    const char *name;
    unsigned kinds;
    scim_tg_opt_type type;
    const char *def;
    const char *unit;
    double min, max;     /* numeric types, inclusive */
    const char *choices; /* O_ENUM: "a|b|c", stored as the index */
    size_t off;
    const char *doc;
} scim_tg_opt;

/* A constant, so that arrays of one entry per option can be declared;
 * tracegen_opts.c checks that it matches the table. */
#define SCIM_TG_N_OPTS 42
extern const scim_tg_opt scim_tg_opts[];

/* ------------------------------------------------------------------------ */
/* Kinds (tracegen.c) */

typedef struct scim_tg_kind {
    const char *name;
    unsigned mask;
    const char *title;
    const char *about;      /* what the device does, per operation */
    const char *layout;     /* regions of one tenant */
    const char *cpu;        /* what --cpu-trace holds */
    const char *guarantees; /* what the tests check */
    int (*run)(scim_tg_gen *g);
} scim_tg_kind;

/* tracegen.c checks that it matches the table. */
#define SCIM_TG_N_KINDS 5
extern const scim_tg_kind scim_tg_kinds[];

const scim_tg_kind *scim_tg_find_kind(const char *name); /* NULL if none */

/* tracegen_opts.c: parse v (a default or the user's value) into p's field
 * for o; an error names the option and what it expected. */
int scim_tg_set_value(const scim_tg_opt *o, const char *kind, const char *v, scim_tg_params *p, scim_err *err);
const scim_tg_opt *scim_tg_find_opt(const char *name, unsigned mask); /* an option of a kind in mask */
int scim_tg_unknown_opt(const scim_tg_kind *k, const char *name, scim_err *err); /* the error, with a hint */
const char *scim_tg_fmt_bound(char *buf, size_t len, double v); /* a range's bound, as text */

/* ------------------------------------------------------------------------ */
/* Emitters (tracegen_emit.c) */

typedef struct scim_tg_pend {
    uint64_t t, seq;
    scim_trace_op op;
    uint32_t pasid;
    uint64_t addr, size;
} scim_tg_pend;

typedef struct scim_tg_emitter {
    scim_trace_writer *w; /* NULL: this output is not wanted */
    bool rel, pasid_keys;
    scim_tg_pend *heap;
    size_t n, cap;
    uint64_t seq, last_t;
    uint64_t records, read_bytes, write_bytes, first_t;
    scim_u64map pages;
} scim_tg_emitter;

/* Queue a record at time t; nothing if the output is not wanted. */
int scim_tg_em_push(scim_tg_emitter *e, uint64_t t, scim_trace_op op, uint64_t addr, uint64_t size, uint32_t pasid,
                    scim_err *err);
/* Release every record at or before `upto`: the generator promises that
 * everything it pushes from now on is at `upto` or later. */
int scim_tg_em_flush(scim_tg_emitter *e, uint64_t upto, scim_err *err);
int scim_tg_em_flush_all(scim_tg_emitter *e, scim_err *err);
void scim_tg_em_free(scim_tg_emitter *e);

/* ------------------------------------------------------------------------ */
/* Generators */

struct scim_tg_gen {
    scim_tg_params p;
    scim_tg_rng r;
    scim_tg_emitter dma;
    /* One CPU trace per tenant: a core runs one address space, so tenants'
     * applications cannot share a CPU trace. ncpu is 0 without CPU traces. */
    scim_tg_emitter *cpu;
    size_t ncpu;
    uint64_t stride; /* between tenants */
    uint64_t ops;
    scim_err *err;
};

static inline uint32_t scim_tg_tenant_pick(scim_tg_gen *g)
{
    return g->p.tenants > 1 ? (uint32_t)scim_tg_rng_below(&g->r, g->p.tenants) : 0;
}
static inline uint64_t scim_tg_tenant_base(const scim_tg_gen *g, uint32_t t) { return g->p.base + t * g->stride; }
static inline uint32_t scim_tg_tenant_pasid(const scim_tg_gen *g, uint32_t t) { return (uint32_t)g->p.pasid_base + t; }

#define DMA(t, op, a, s, tn) scim_tg_em_push(&g->dma, (t), (op), (a), (s), scim_tg_tenant_pasid(g, (tn)), g->err)
#define CPU(t, op, a, s, tn)                                                                                      \
    (g->ncpu ? scim_tg_em_push(&g->cpu[g->ncpu > 1 ? (tn) : 0], (t), (op), (a), (s), scim_tg_tenant_pasid(g, (tn)), \
                               g->err)                                                                            \
             : 0)
#define TRY(x)                                                                                                    \
    do {                                                                                                          \
        int rc_ = (x);                                                                                            \
        if (rc_ != 0)                                                                                             \
            return rc_;                                                                                           \
    } while (0)

int scim_tg_cpu_flush(scim_tg_gen *g, uint64_t upto); /* tracegen_emit.c: every CPU trace's emitter */

static inline uint64_t scim_tg_delay_ns(const scim_tg_gen *g) { return (uint64_t)llround(g->p.app_delay); }

/* Integer ns at which `bytes` have gone by at `gbps` Gbit/s: one rounding
 * per record, never accumulated, so the mean rate is exact to 1 ns over the
 * whole trace. */
static inline uint64_t scim_tg_wire_ns(uint64_t bytes, double gbps)
{
    return (uint64_t)floor((double)bytes * 8.0 / gbps);
}

/* Ring entry sizes: NIC descriptors, NVMe submission and completion entries. */
enum { DESC = 16, SQE = 64, CQE = 16 };

/* Each kind's generator (tracegen_<kind>.c), and where its regions start. */
int scim_tg_gen_nic_rx(scim_tg_gen *g);
int scim_tg_gen_nic_tx(scim_tg_gen *g);
uint64_t scim_tg_nic_pool_offset(const scim_tg_params *p);
int scim_tg_gen_storage(scim_tg_gen *g);
uint64_t scim_tg_sto_data_offset(const scim_tg_params *p);
int scim_tg_gen_kv(scim_tg_gen *g);
int scim_tg_gen_stream(scim_tg_gen *g);
uint64_t scim_tg_str_array_stride(const scim_tg_params *p);

#endif
