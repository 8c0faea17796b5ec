/* What the trace reader, writer and summary share: the format's tables
 * (trace_format.c). Formats in include/scimitar/trace.h and docs/traces.md. */
#ifndef SCIMITAR_TRACE_INTERNAL_H
#define SCIMITAR_TRACE_INTERNAL_H

#include "core/common.h"
#include "scimitar/trace.h"

/* "SCIMTRB" and the binary format's version byte. */
extern const unsigned char scim_trace_magic[8];

extern const char *const scim_trace_op_names[SCIM_OP_COUNT_];

#define SCIM_TRACE_OP_BIT(op) (1u << (op))

/* ---------- keys: add one by adding a line to scim_trace_keys ---------- */

typedef enum scim_trace_key_kind {
    SCIM_TRACE_KEY_U32,
    SCIM_TRACE_KEY_U64,
    SCIM_TRACE_KEY_PROT,
    SCIM_TRACE_KEY_BOOL,
    SCIM_TRACE_KEY_PAGESIZE
} scim_trace_key_kind;

typedef struct scim_trace_key {
    const char *name;
    uint32_t bit;
    scim_trace_key_kind kind;
    uint32_t ops; /* which ops accept it */
    uint64_t max; /* SCIM_TRACE_KEY_U32/U64 upper bound */
} scim_trace_key;

/* A constant, so that loops over the keys stay loops over a constant;
 * trace_format.c checks that it matches the table. */
#define SCIM_TRACE_N_KEYS 6
extern const scim_trace_key scim_trace_keys[];

/* The record field that holds key k (an index into scim_trace_keys). */
uint64_t scim_trace_key_value(const scim_trace_rec *r, size_t k);
void scim_trace_set_key_value(scim_trace_rec *r, size_t k, uint64_t v);

/* 0 if the formats can carry rec; else -1 with *why saying what is wrong. */
int scim_trace_rec_check(const scim_trace_rec *rec, const char **why);

/* The trace's own clock after rec, in ns, given the clock before it: the
 * time the record would be issued if the agent never waited. An @N in the
 * past is issued at once (the clock never goes back); a +N adds to it
 * (saturating). The replay's sim.until keeps the same clock (replay.c,
 * past_until, in ps). */
static inline uint64_t scim_trace_clock_after(uint64_t clock, const scim_trace_rec *rec)
{
    if (rec->timing == SCIM_TIMING_ABS)
        return rec->time_ns > clock ? rec->time_ns : clock;
    return rec->time_ns > UINT64_MAX - clock ? UINT64_MAX : clock + rec->time_ns;
}

/* ---------- the inline decoder of the common binary record ---------- */

/* What scim_trace_next_quick needs of a reader: the first member of its
 * byte source, which is the reader's first member (trace_read.c checks
 * both), so that a replay engine decodes a record without a call. */
typedef struct scim_trace_hot {
    size_t len, pos;          /* bytes in buf; the next one */
    const unsigned char *buf; /* the source's buffer */
    uint64_t line;            /* text line / binary record number */
    uint64_t prev_addr;       /* binary: the previous record's address */
    bool binary;
} scim_trace_hot;

static inline scim_trace_hot *scim_trace_hot_of(scim_trace_reader *r) { return (scim_trace_hot *)(void *)r; }

/* A varint of three bytes or more (scim_trace_varint_unchecked). */
static __attribute__((unused, noinline)) int scim_trace_varint_long(const unsigned char **p, uint64_t *out)
{
    const unsigned char *q = *p;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        unsigned b = q[i];
        if (i == 9 && b > 1)
            return -2;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            *p = q + i + 1;
            return 0;
        }
    }
    return -2;
}

/* A varint from a buffer known to hold at least 10 more bytes: 0, or -2
 * for one longer than 10 bytes (*p unchanged). Up to three bytes in line
 * (most times and sizes take one, address deltas three for a few hundred
 * pages), longer ones by a loop out of line. */
static inline __attribute__((always_inline)) int scim_trace_varint_unchecked(const unsigned char **p,
                                                                             uint64_t *out)
{
    const unsigned char *q = *p;
    if (q[0] < 0x80) {
        *out = q[0];
        *p = q + 1;
        return 0;
    }
    if (q[1] < 0x80) {
        *out = (uint64_t)(q[0] & 0x7f) | (uint64_t)q[1] << 7;
        *p = q + 2;
        return 0;
    }
    if (q[2] < 0x80) {
        *out = (uint64_t)(q[0] & 0x7f) | (uint64_t)(q[1] & 0x7f) << 7 | (uint64_t)q[2] << 14;
        *p = q + 3;
        return 0;
    }
    return scim_trace_varint_long(p, out);
}

/* The largest PASID (scim_trace_keys[0].max; test_trace_binary checks). */
#define SCIM_TRACE_PASID_MAX 0xfffffu

/* The binary record at the reader's position, if it is a common one: a
 * whole record in the buffer, its tag and varints well formed, a valid
 * size, no keys or only pasid= (which every op takes). Then it is decoded
 * into *rec as scim_trace_next would (the same fields; the key fields it
 * does not carry are 0) and the reader moves past it: true. Otherwise
 * nothing changes and false says to call scim_trace_next, which decodes it
 * or reports its error with its offset: this path has no error of its
 * own, so messages cannot differ. The zeroing of the record, the call,
 * the reader checks and scim_trace_rec_check are what it saves. */
static inline __attribute__((always_inline)) bool scim_trace_next_quick(scim_trace_reader *reader, scim_trace_rec *rec)
{
    enum { QUICK_MAX = 1 + 3 * 10 + 2 * 10 }; /* tag, three varints, key bits and pasid */
    scim_trace_hot *h = scim_trace_hot_of(reader);
    size_t pos = h->pos;
    if (!h->binary || h->len - pos < QUICK_MAX)
        return false;
    const unsigned char *p = h->buf + pos;
    unsigned tag = *p++;
    /* reserved bits, an unknown op: scim_trace_next's errors */
    if ((tag & 0xc0) || (tag & 0x0f) >= SCIM_OP_COUNT_)
        return false;
    uint64_t t, zz, size, has = 0, pasid = 0;
    if (scim_trace_varint_unchecked(&p, &t) || scim_trace_varint_unchecked(&p, &zz) ||
        scim_trace_varint_unchecked(&p, &size))
        return false;
    uint64_t addr = h->prev_addr + ((zz >> 1) ^ -(zz & 1));
    /* timing beyond the clock, size 0, a wrap: scim_trace_next's errors */
    if (t > SCIM_TRACE_MAX_NS || size == 0 || addr + size - 1 < addr)
        return false;
    if (tag & 0x20) {
        if (p[0] != SCIM_TRACE_HAS_PASID) /* one byte, the pasid bit alone; other keys the long way */
            return false;
        p++;
        if (scim_trace_varint_unchecked(&p, &pasid) || pasid > SCIM_TRACE_PASID_MAX)
            return false;
        has = SCIM_TRACE_HAS_PASID;
    }
    h->pos = (size_t)(p - h->buf);
    h->prev_addr = addr;
    uint64_t line = ++h->line;
    /* field by field (a compound literal was built on the stack, then
     * copied); padding is left as it is */
    rec->timing = (tag & 0x10) ? SCIM_TIMING_ABS : SCIM_TIMING_REL;
    rec->time_ns = t;
    rec->op = (scim_trace_op)(tag & 0x0f);
    rec->addr = addr;
    rec->size = size;
    rec->has = (uint32_t)has;
    rec->pasid = (uint32_t)pasid;
    rec->prot = 0;
    rec->populate = 0;
    rec->page_shift = 0;
    rec->io = 0;
    rec->node = 0;
    rec->line = line;
    return true;
}

/* A forked simulation (scim_sim_fork): parent and child share a file
 * position through an inherited descriptor. The position of a reader's
 * file (its descriptor's offset; -1 for a buffer) is taken before the
 * fork; after it, one side calls scim_trace_reopen_at with it, which gives
 * that side's reader a descriptor of its own on the same file at the same
 * place (zlib's buffered input is the process's own). */
int64_t scim_trace_file_position(const scim_trace_reader *r);
int scim_trace_reopen_at(scim_trace_reader *r, int64_t position, scim_err *err);

#endif
