/* The trace format's tables (ops, keys and which ops take them), a record's
 * validity and its canonical text line, shared by the reader and the
 * writer. Formats in include/scimitar/trace.h and docs/traces.md. */
#include "core/trace_internal.h"

#include <stdio.h>

const unsigned char scim_trace_magic[8] = {'S', 'C', 'I', 'M', 'T', 'R', 'B', 1};

/* ---------- ops and keys: add one by adding a line ---------- */

#define OPS_ALL ((1u << SCIM_OP_COUNT_) - 1)

const char *const scim_trace_op_names[SCIM_OP_COUNT_] = {"read",    "write",   "mmap", "munmap", "mprotect",
                                                         "migrate", "reclaim", "pin",  "unpin"};

#define OP(x) SCIM_TRACE_OP_BIT(x)

const scim_trace_key scim_trace_keys[] = {
    {"pasid", SCIM_TRACE_HAS_PASID, SCIM_TRACE_KEY_U32, OPS_ALL, 0xfffff},
    {"prot", SCIM_TRACE_HAS_PROT, SCIM_TRACE_KEY_PROT, OP(SCIM_OP_MMAP) | OP(SCIM_OP_MPROTECT), 0},
    {"populate", SCIM_TRACE_HAS_POPULATE, SCIM_TRACE_KEY_BOOL, OP(SCIM_OP_MMAP), 1},
    {"pagesize", SCIM_TRACE_HAS_PAGESIZE, SCIM_TRACE_KEY_PAGESIZE, OP(SCIM_OP_MMAP), 0},
    {"io", SCIM_TRACE_HAS_IO, SCIM_TRACE_KEY_U64,
     OP(SCIM_OP_READ) | OP(SCIM_OP_WRITE) | OP(SCIM_OP_PIN) | OP(SCIM_OP_UNPIN), UINT64_MAX},
    {"node", SCIM_TRACE_HAS_NODE, SCIM_TRACE_KEY_U32, OP(SCIM_OP_MIGRATE), UINT32_MAX},
};
_Static_assert(sizeof scim_trace_keys / sizeof scim_trace_keys[0] == SCIM_TRACE_N_KEYS,
               "SCIM_TRACE_N_KEYS (trace_internal.h) must count scim_trace_keys");
/* key k's bit is 1 << k (scim_trace_rec_check finds keys by bit position) */
_Static_assert(SCIM_TRACE_HAS_PASID == 1u << 0 && SCIM_TRACE_HAS_PROT == 1u << 1 && SCIM_TRACE_HAS_POPULATE == 1u << 2 &&
                   SCIM_TRACE_HAS_PAGESIZE == 1u << 3 && SCIM_TRACE_HAS_IO == 1u << 4 &&
                   SCIM_TRACE_HAS_NODE == 1u << 5 && SCIM_TRACE_N_KEYS == 6,
               "scim_trace_keys[k].bit must be 1 << k");

const char *scim_trace_op_name(scim_trace_op op)
{
    return (unsigned)op < SCIM_OP_COUNT_ ? scim_trace_op_names[op] : "?";
}

uint64_t scim_trace_key_value(const scim_trace_rec *r, size_t k)
{
    switch (k) {
    case 0: return r->pasid;
    case 1: return r->prot;
    case 2: return r->populate;
    case 3: return r->page_shift;
    case 4: return r->io;
    default: return r->node;
    }
}

void scim_trace_set_key_value(scim_trace_rec *r, size_t k, uint64_t v)
{
    switch (k) {
    case 0: r->pasid = (uint32_t)v; break;
    case 1: r->prot = (uint8_t)v; break;
    case 2: r->populate = (uint8_t)v; break;
    case 3: r->page_shift = (uint8_t)v; break;
    case 4: r->io = v; break;
    default: r->node = (uint32_t)v; break;
    }
}

int scim_trace_rec_check(const scim_trace_rec *rec, const char **why)
{
    if (rec->size == 0) {
        *why = "size is 0";
        return -1;
    }
    if (rec->addr + rec->size - 1 < rec->addr) {
        *why = "address + size wraps around 2^64";
        return -1;
    }
    if (rec->time_ns > SCIM_TRACE_MAX_NS) {
        *why = "timing beyond the simulated clock (more than 2^64 ps)";
        return -1;
    }
    /* only the keys present: most records (DMAs) carry none */
    for (uint32_t has = rec->has & SCIM_TRACE_HAS_ALL_; has; has &= has - 1) {
        size_t k = (size_t)__builtin_ctz(has);
        if (!(scim_trace_keys[k].ops & SCIM_TRACE_OP_BIT(rec->op))) {
            *why = "a key that does not apply to the op";
            return -1;
        }
        uint64_t v = scim_trace_key_value(rec, k);
        bool ok = scim_trace_keys[k].kind == SCIM_TRACE_KEY_PROT ? (v == 0 || v == 1 || v == 3)
                  : scim_trace_keys[k].kind == SCIM_TRACE_KEY_PAGESIZE ? (v == 12 || v == 21 || v == 30)
                  : v <= scim_trace_keys[k].max;
        if (!ok) {
            *why = "a key value out of range";
            return -1;
        }
    }
    return 0;
}

/* ---------- formatting ---------- */

int scim_trace_format_rec(const scim_trace_rec *rec, char *buf, size_t len)
{
    if (!rec || (!buf && len))
        return -1;
    int n = snprintf(buf, len, "%c%llu %s 0x%llx %llu", rec->timing == SCIM_TIMING_ABS ? '@' : '+',
                     (unsigned long long)rec->time_ns, scim_trace_op_name(rec->op), (unsigned long long)rec->addr,
                     (unsigned long long)rec->size);
    for (size_t k = 0; k < SCIM_TRACE_N_KEYS && n > 0 && (size_t)n < len; k++) {
        if (!(rec->has & scim_trace_keys[k].bit))
            continue;
        uint64_t v = scim_trace_key_value(rec, k);
        switch (scim_trace_keys[k].kind) {
        case SCIM_TRACE_KEY_PROT:
            n += snprintf(buf + n, len - (size_t)n, " prot=%s", v == 3 ? "rw" : v == 1 ? "r" : "none");
            break;
        case SCIM_TRACE_KEY_PAGESIZE:
            n += snprintf(buf + n, len - (size_t)n, " pagesize=%s", v == 12 ? "4K" : v == 21 ? "2M" : "1G");
            break;
        default:
            n += snprintf(buf + n, len - (size_t)n, " %s=%llu", scim_trace_keys[k].name, (unsigned long long)v);
        }
    }
    return n;
}

bool scim_trace_rec_equal(const scim_trace_rec *a, const scim_trace_rec *b)
{
    if (!a || !b)
        return a == b;
    if (a->timing != b->timing || a->time_ns != b->time_ns || a->op != b->op || a->addr != b->addr ||
        a->size != b->size || a->has != b->has)
        return false;
    for (size_t k = 0; k < SCIM_TRACE_N_KEYS; k++)
        if ((a->has & scim_trace_keys[k].bit) && scim_trace_key_value(a, k) != scim_trace_key_value(b, k))
            return false;
    return true;
}
