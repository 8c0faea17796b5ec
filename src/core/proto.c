#include "core/proto.h"

static const char *const msg_type_names[SCIM_MSG_TYPE_COUNT] = {
    [SCIM_MSG_MEM_READ] = "mem_read",   [SCIM_MSG_MEM_WRITE] = "mem_write",
    [SCIM_MSG_MEM_RESP] = "mem_resp",   [SCIM_MSG_ATS_REQ] = "ats_req",
    [SCIM_MSG_ATS_RESP] = "ats_resp",   [SCIM_MSG_PRI_REQ] = "pri_req",
    [SCIM_MSG_PRI_RESP] = "pri_resp",   [SCIM_MSG_INV_REQ] = "inv_req",
    [SCIM_MSG_INV_DONE] = "inv_done",   [SCIM_MSG_XLAT_IRQ] = "irq",
    [SCIM_MSG_IPI] = "ipi",             [SCIM_MSG_OS_REQ] = "os_req",
    [SCIM_MSG_OS_RESP] = "os_resp",     [SCIM_MSG_SYNC] = "sync",
    [SCIM_MSG_SYNC_ACK] = "sync_ack",   [SCIM_MSG_DMA] = "dma",
    [SCIM_MSG_DOORBELL] = "doorbell",   [SCIM_MSG_DEV_FAIL] = "dev_fail",
    [SCIM_MSG_DEV_FAIL_DONE] = "dev_fail_done", [SCIM_MSG_RESET] = "reset",
    [SCIM_MSG_RESET_DONE] = "reset_done",
};

static const scim_msg_type response_of[SCIM_MSG_TYPE_COUNT] = {
    [SCIM_MSG_MEM_READ] = SCIM_MSG_MEM_RESP, [SCIM_MSG_MEM_WRITE] = SCIM_MSG_MEM_RESP,
    [SCIM_MSG_ATS_REQ] = SCIM_MSG_ATS_RESP,  [SCIM_MSG_XLAT_IRQ] = SCIM_MSG_ATS_RESP,
    [SCIM_MSG_PRI_REQ] = SCIM_MSG_PRI_RESP,  [SCIM_MSG_INV_REQ] = SCIM_MSG_INV_DONE,
    [SCIM_MSG_IPI] = SCIM_MSG_INV_DONE,      [SCIM_MSG_OS_REQ] = SCIM_MSG_OS_RESP,
    [SCIM_MSG_SYNC] = SCIM_MSG_SYNC_ACK,     [SCIM_MSG_DMA] = SCIM_MSG_MEM_RESP,
    [SCIM_MSG_DEV_FAIL] = SCIM_MSG_DEV_FAIL_DONE, [SCIM_MSG_RESET] = SCIM_MSG_RESET_DONE,
    /* posted: no response */
    [SCIM_MSG_DOORBELL] = SCIM_MSG_TYPE_COUNT,
    /* responses map to themselves */
    [SCIM_MSG_MEM_RESP] = SCIM_MSG_MEM_RESP, [SCIM_MSG_ATS_RESP] = SCIM_MSG_ATS_RESP,
    [SCIM_MSG_PRI_RESP] = SCIM_MSG_PRI_RESP, [SCIM_MSG_INV_DONE] = SCIM_MSG_INV_DONE,
    [SCIM_MSG_OS_RESP] = SCIM_MSG_OS_RESP,   [SCIM_MSG_SYNC_ACK] = SCIM_MSG_SYNC_ACK,
    [SCIM_MSG_DEV_FAIL_DONE] = SCIM_MSG_DEV_FAIL_DONE, [SCIM_MSG_RESET_DONE] = SCIM_MSG_RESET_DONE,
};

const char *scim_msg_type_name(scim_msg_type t)
{
    return (unsigned)t < SCIM_MSG_TYPE_COUNT ? msg_type_names[t] : "unknown";
}

bool scim_msg_is_response(scim_msg_type t)
{
    return (unsigned)t < SCIM_MSG_TYPE_COUNT && response_of[t] == t;
}

scim_msg_type scim_msg_response_of(scim_msg_type request)
{
    return (unsigned)request < SCIM_MSG_TYPE_COUNT ? response_of[request] : SCIM_MSG_TYPE_COUNT;
}
