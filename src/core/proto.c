#include "core/proto.h"

/* flags: op; addr, len: the range; data: prot | populate << 8 |
 * page_shift << 16 | has << 24; tag: the node of a migrate. */
void scim_os_request_encode(scim_msg *m, const scim_trace_rec *rec, uint32_t pasid)
{
    m->flags = (uint32_t)rec->op;
    m->pasid = pasid;
    m->addr = rec->addr;
    m->len = rec->size;
    m->data = (uint64_t)rec->prot | ((uint64_t)rec->populate << 8) | ((uint64_t)rec->page_shift << 16) |
              ((uint64_t)rec->has << 24);
    m->tag = rec->node;
}

