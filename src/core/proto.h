/* The OS request protocol carried by SCIM_MSG_OS_REQ / SCIM_MSG_OS_RESP,
 * owned by neither endpoint: agents (devices, CPU cores) encode requests,
 * the OS decodes them. */
#ifndef SCIM_CORE_PROTO_H
#define SCIM_CORE_PROTO_H

#include "core/fabric.h"
#include "scimitar/trace.h"

/* The OS request protocol (SCIM_MSG_OS_REQ): an agent encodes an OS
 * operation of its trace; the answer is SCIM_MSG_OS_RESP with a status. */
void scim_os_request_encode(scim_msg *m, const scim_trace_rec *rec, uint32_t pasid);
/* A CPU page fault (a trap): flags = SCIM_OS_OP_FAULT, pasid, addr = va,
 * len = 1 for a write access. Answered with SCIM_MSG_OS_RESP. */
#define SCIM_OS_OP_FAULT 0x100u
/* fault_policy backup: copy a write that landed in the backup buffer slot
 * `tag` to pasid:addr (len bytes) once the page is mapped; answered with
 * SCIM_MSG_OS_RESP (flags kept) when the slot is free again. */
#define SCIM_OS_OP_BACKUP 0x101u
/* The driver side of the pin and iommu-map schemes, per I/O: pasid,
 * addr, len = the buffer, tag = the device's request slot. IO_PIN answers
 * with addr = the request's descriptor list (one 8-byte physical address
 * per page); IO_MAP maps the buffer at IOVA = va in the device's I/O
 * address space; IO_UNPIN / IO_UNMAP undo them. */
#define SCIM_OS_OP_IO_PIN 0x102u
#define SCIM_OS_OP_IO_UNPIN 0x103u
#define SCIM_OS_OP_IO_MAP 0x104u
#define SCIM_OS_OP_IO_UNMAP 0x105u

#endif
