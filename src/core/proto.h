/* The protocol every block speaks on the fabric, owned by neither endpoint:
 * one header (type, endpoints, wire size, status, tag) and one payload per
 * command, as a tagged union. A response reuses its request's message and
 * tag (SST StandardMem style) and carries its own payload; nothing rides in
 * spare bits of an address or a flags word.
 *
 * Every request but one has exactly one response (they are non-posted):
 *     MEM_READ, MEM_WRITE  -> MEM_RESP       (memory controller, shadow copy)
 *     DMA                  -> MEM_RESP       (IOMMU: an untranslated DMA it translates inline, ats: false)
 *     ATS_REQ              -> ATS_RESP       (IOMMU: PCIe ATS Translation Request/Completion)
 *     XLAT_IRQ             -> ATS_RESP       (walk placement software: the OS walks)
 *     PRI_REQ              -> PRI_RESP       (PCIe PRI Page Request / Page Group Response)
 *     INV_REQ, IPI         -> INV_DONE       (invalidation, shootdown IPI)
 *     OS_REQ               -> OS_RESP        (an OS operation, a CPU page fault, a driver call)
 *     SYNC                 -> SYNC_ACK       (page-table update to a synchronized copy)
 *     DEV_FAIL             -> DEV_FAIL_DONE  (IOMMU -> OS: a device's invalidation completion timed out)
 *     RESET                -> RESET_DONE     (OS -> device: function level reset; done once its accesses drained)
 * and one is posted, without a response or a tag (scim_port_post):
 *     DOORBELL                               (host -> device: an MMIO write to a doorbell register)
 * The requester's port allocates the tag (core/port.h); the responder
 * replies with scim_port_reply(), which keeps it.
 */
#ifndef SCIM_CORE_PROTO_H
#define SCIM_CORE_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/common.h"
#include "scimitar/trace.h"

typedef uint16_t scim_node_id;
#define SCIM_NODE_NONE ((scim_node_id)0xffff)

/* The names (scim_msg_type_name) are part of the statistics:
 * fabric.sent.<name>. */
typedef enum scim_msg_type {
    SCIM_MSG_MEM_READ,
    SCIM_MSG_MEM_WRITE,
    SCIM_MSG_MEM_RESP,
    SCIM_MSG_ATS_REQ,
    SCIM_MSG_ATS_RESP,
    SCIM_MSG_PRI_REQ,
    SCIM_MSG_PRI_RESP,
    SCIM_MSG_INV_REQ,
    SCIM_MSG_INV_DONE,
    SCIM_MSG_XLAT_IRQ, /* "irq": an interrupt asking host software for a translation */
    SCIM_MSG_IPI,
    SCIM_MSG_OS_REQ,
    SCIM_MSG_OS_RESP,
    SCIM_MSG_SYNC,
    SCIM_MSG_SYNC_ACK,
    SCIM_MSG_DMA,      /* "dma": a device's access by untranslated address (PCIe AT = 00b), ats: false */
    SCIM_MSG_DOORBELL, /* posted: the host rang a device's doorbell (an I/O is ready) */
    SCIM_MSG_DEV_FAIL, /* the IOMMU reports a device that did not complete an invalidation in time */
    SCIM_MSG_DEV_FAIL_DONE,
    SCIM_MSG_RESET,    /* the OS resets a failed device (PCIe function level reset) */
    SCIM_MSG_RESET_DONE,
    SCIM_MSG_TYPE_COUNT
} scim_msg_type;

const char *scim_msg_type_name(scim_msg_type t);
bool scim_msg_is_response(scim_msg_type t);
/* The response type of a request type. */
scim_msg_type scim_msg_response_of(scim_msg_type request);

/* Response status, after PCIe ATS completions and PRI Page Group Response
 * codes. */
enum scim_resp_status {
    SCIM_RESP_OK = 0,          /* translation / page request / operation succeeded */
    SCIM_RESP_NOT_PRESENT = 1, /* ATS completion with no access: ask for the page (PRI) */
    SCIM_RESP_INVALID = 2,     /* PRI "Invalid Request": no mapping can be made (bad address, protection) */
    SCIM_RESP_FAILURE = 3      /* PRI "Response Failure": e.g. page request queue overflow */
};

/* Access rights of a translation (ATS completion R/W bits). */
#define SCIM_PERM_R (1u << 0)
#define SCIM_PERM_W (1u << 1)

/* ---- invalidation scopes ---- */

/* One scope type for every translation cache: CPU TLBs, device IOTLBs and
 * micro-TLBs, the IOMMU IOTLB, and walk caches (mmu/tlb.h applies it). */
typedef enum scim_inv_kind {
    SCIM_INV_RANGE,  /* [addr, addr + len) of pasid */
    SCIM_INV_PASID,  /* every translation of pasid */
    SCIM_INV_GLOBAL  /* every translation of every pasid */
} scim_inv_kind;

typedef struct scim_inv_scope {
    scim_inv_kind kind;
    uint32_t pasid;
    uint64_t addr, len;
} scim_inv_scope;

static inline bool scim_inv_covers(const scim_inv_scope *s, uint32_t pasid, uint64_t va)
{
    if (s->kind == SCIM_INV_GLOBAL)
        return true;
    if (pasid != s->pasid)
        return false;
    return s->kind == SCIM_INV_PASID || (va >= s->addr && va - s->addr < s->len);
}

/* Does the scope remove a translation of the page of 2^shift bytes that
 * holds va (its whole page, not only the bytes an access moves)? An
 * access that used such a translation must finish before the
 * invalidation completes. */
static inline bool scim_inv_covers_page(const scim_inv_scope *s, uint32_t pasid, uint64_t va, unsigned shift)
{
    if (s->kind != SCIM_INV_RANGE || pasid != s->pasid)
        return scim_inv_covers(s, pasid, va);
    uint64_t mask = (1ull << shift) - 1;
    uint64_t base = va & ~mask, last = base + mask;
    uint64_t s_last = s->addr + s->len - 1 < s->addr ? UINT64_MAX : s->addr + s->len - 1;
    return s->len && base <= s_last && s->addr <= last;
}

/* ---- OS requests ---- */

/* What an OS_REQ asks. The first values are the OS operations of traces
 * (scim_trace_op); the rest are raised by hardware or drivers. */
typedef enum scim_os_op {
    SCIM_OS_TRACE_OP,   /* an operation of an agent's trace: os.trace_op */
    SCIM_OS_CPU_FAULT,  /* a CPU page fault (a trap) at va; write: the access is a write */
    SCIM_OS_BACKUP,     /* fault_policy backup: copy buffer slot `slot` to pasid:addr (len bytes) once mapped */
    SCIM_OS_IO_PIN,     /* scheme pin, per I/O: pin [addr, addr+len) (the host's record; never sent: a doorbell answers) */
    SCIM_OS_IO_UNPIN,   /* the device's release of a pinned I/O (slot: the doorbell's cookie) */
    SCIM_OS_IO_MAP,     /* scheme iommu-map, per I/O: map the buffer at IOVA = va in the device's domain (as IO_PIN) */
    SCIM_OS_IO_UNMAP,   /* the device's release of a mapped I/O (slot: the doorbell's cookie) */
    SCIM_OS_OP_COUNT
} scim_os_op;

/* Bytes of an OS request on the wire: a system call's arguments (operation,
 * address, length, flags). */
#define SCIM_OS_REQ_BYTES 16

/* ---- payloads ---- */

/* 64-bit words a descriptor read returns at most (a 64-byte SMMUv3 stream
 * table entry or context descriptor). */
#define SCIM_MEM_RESP_WORDS 8

typedef struct scim_mem_req {
    uint64_t pa;
    uint64_t len;
    uint8_t level;    /* pte: the page-table level of the entry */
    uint8_t fmt;      /* pte: the page-table format's id (mmu/ptfmt.h), which says what set_ad changes */
    uint8_t words;    /* a descriptor read: return the first `words` 64-bit words at pa (<= SCIM_MEM_RESP_WORDS) */
    bool pte;         /* a page-table entry (or IOMMU context structure) read by a walker */
    bool set_ad;      /* pte: the format's accessed/dirty update, atomically at the memory */
    bool walk_write;  /* pte: the walk is for a write access */
    bool value;       /* return the 64-bit word at pa (a descriptor or table entry) */
} scim_mem_req;

typedef struct scim_mem_resp {
    uint64_t value;   /* pte / value reads: the word read */
    uint64_t words[SCIM_MEM_RESP_WORDS]; /* descriptor reads: the words read */
} scim_mem_resp;

typedef struct scim_xlat_req {
    uint32_t pasid;
    uint64_t va;
    bool write;
} scim_xlat_req;

typedef struct scim_xlat_resp {
    uint64_t page_pa; /* start of the page */
    uint8_t shift;    /* page size */
    uint8_t perms;    /* SCIM_PERM_* */
} scim_xlat_resp;

/* A page request group: `pages` pages from va that the DMA needs (the
 * first is the one that faulted), then `prefault` more the device would
 * like mapped; each page is one PCIe Page Request Message, answered by
 * one Page Group Response. */
typedef struct scim_page_req {
    uint32_t pasid;
    uint64_t va;
    uint32_t pages;
    uint32_t prefault;
    bool write;
} scim_page_req;

typedef struct scim_page_resp {
    bool auto_response; /* generated by the IOMMU itself (queue overflow), not by the OS */
} scim_page_resp;

typedef struct scim_inv_req {
    scim_inv_scope scope;
    bool broadcast;   /* snooped from the fabric (broadcast protocol), not an ATS/IPI request */
} scim_inv_req;

typedef struct scim_os_req {
    scim_os_op op;
    uint32_t pasid;
    uint64_t addr, len;
    bool write;            /* CPU_FAULT: a write access; IO_*: the device writes the buffer */
    uint32_t slot;         /* BACKUP: buffer slot; IO_*: the host's record of the I/O (the cookie) */
    scim_trace_rec rec;    /* TRACE_OP: the record (op, prot, page size, node, ...) */
} scim_os_req;

typedef struct scim_os_resp {
    uint64_t addr;    /* unused: answers carry only their status */
} scim_os_resp;

/* DMA: what an access by untranslated address carries: the IOMMU
 * translates it on the way (pasid:va) and performs it at memory. */
typedef struct scim_dma_req {
    uint32_t pasid;
    uint64_t va;
    uint64_t len;
    bool write;
} scim_dma_req;

/* DOORBELL: the host posted the I/O of the device's request slot `slot`
 * (pin and iommu-map drivers). cookie names the host's record of the I/O
 * and comes back in the device's release (as a work request id does);
 * failed: the host could not prepare it, so the device fails it without
 * moving data. */
typedef struct scim_doorbell {
    uint32_t slot;
    uint32_t cookie;
    bool failed;
} scim_doorbell;

/* DEV_FAIL: device `dev` did not answer a device-TLB invalidation within
 * iommu.ats.inv_timeout (VT-d's Invalidation Time-out Error, SMMUv3's
 * CMD_SYNC timeout); the OS answers once it has reset the device. */
typedef struct scim_dev_fail {
    scim_node_id dev;
} scim_dev_fail;

typedef struct scim_sync {
    uint32_t pasid;
    uint32_t entries;      /* (entry pa, value) pairs */
    const uint64_t *pairs; /* owned by the sender until the acknowledgement */
} scim_sync;

typedef struct scim_msg {
    scim_msg_type type;
    scim_node_id src, dst;   /* dst is where it is delivered */
    uint32_t wire_bytes;     /* bytes charged against link bandwidth */
    int32_t status;          /* responses: SCIM_RESP_* */
    uint64_t tag;            /* requester's port tag; a response keeps it */
    scim_time_t sent_at;     /* when the current leg was sent */
    scim_time_t arrived;     /* when it was delivered (set by the fabric); a receiver that queues a
                                request may restamp it when it takes the request up */
    union {
        scim_mem_req mem;
        scim_mem_resp mem_resp;
        scim_xlat_req xlat;
        scim_xlat_resp xlat_resp;
        scim_page_req page;
        scim_page_resp page_resp;
        scim_inv_req inv;
        scim_os_req os;
        scim_os_resp os_resp;
        scim_sync sync;
        scim_dma_req dma;
        scim_doorbell doorbell;
        scim_dev_fail dev_fail;
    } u;
    /* fabric-private */
    scim_node_id at;         /* node the message is at / heading to */
    struct scim_msg *next_free;
    /* fast path (device/fast.c): when its pending event is due, and when
     * it reached a serving node (memory) that holds it until then */
    scim_time_t due;
    scim_time_t svc_at;
    bool in_svc; /* held by the node it was sent to (its answer pending) */
    bool ghost;  /* a fast path took it over: its pending event does nothing */
} scim_msg;

#endif
