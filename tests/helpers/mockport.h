/* A test rig for unit tests of one block through its port: a native
 * kernel, a fabric and a statistics registry, plus mock endpoints on the
 * other side of the block's messages.
 *
 * A mock endpoint is a port that logs every message it receives (requests
 * and responses, with arrival time and a copy) and, by mode:
 *   MOCK_HOLD    keeps requests for the test to answer (mock_answer);
 *   MOCK_ECHO    answers every request after `delay` with its response
 *                type and `status` (INV_REQ -> INV_DONE, OS_REQ -> OS_RESP,
 *                PRI_REQ -> PRI_RESP, ATS_REQ -> ATS_RESP with `xlat`);
 *   MOCK_MEMORY  a dummy memory: MEM_READ answers the word stored at the
 *                address (mock_poke) after `delay`, MEM_WRITE acknowledges.
 * A test sends requests as the mock with mock_request and finds the
 * responses in the log.
 */
#ifndef SCIM_TEST_MOCKPORT_H
#define SCIM_TEST_MOCKPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/port.h"
#include "core/u64map.h"

typedef struct test_rig {
    scim_kernel *k;
    scim_fabric *f;
    scim_stats *stats;
} test_rig;

/* header 24 B, max payload 256 B per packet (the fabric defaults) */
void rig_init(test_rig *r);
void rig_free(test_rig *r);
void rig_link(test_rig *r, const char *a, const char *b, scim_time_t latency, uint64_t bytes_per_s);
void rig_finalize(test_rig *r);
/* Run until no event is left (fails the test on a kernel failure). */
void rig_run(test_rig *r);
/* Run and return the kernel's status (for tests that expect a failure). */
int rig_run_status(test_rig *r, char *msg, size_t len);
scim_node_id rig_node(const test_rig *r, const char *name);
double rig_stat(const test_rig *r, const char *name);

typedef enum mock_mode { MOCK_HOLD, MOCK_ECHO, MOCK_MEMORY } mock_mode;

typedef struct mock_log {
    scim_msg m;          /* a copy, as received (tag: the mock's id for responses) */
    scim_time_t at;      /* arrival */
    scim_msg *held;      /* MOCK_HOLD: the request, until answered */
} mock_log;

#define MOCK_LOG_MAX 4096

typedef struct mock_ep {
    test_rig *rig;
    scim_port *port;
    mock_mode mode;
    scim_time_t delay;
    int32_t status;          /* ECHO: the status of every answer */
    scim_xlat_resp xlat;     /* ECHO: the translation every ATS_RESP carries */
    scim_u64map memory;      /* MEMORY: pa -> 64-bit word */
    mock_log log[MOCK_LOG_MAX];
    size_t n;
} mock_ep;

mock_ep *mock_add(test_rig *r, const char *name, mock_mode mode, scim_time_t delay);
void mock_free(mock_ep *ep);
void mock_poke(mock_ep *ep, uint64_t pa, uint64_t value);
uint64_t mock_peek(const mock_ep *ep, uint64_t pa);
/* Answer held request i now (payload: set by the caller on the returned
 * message's u before the call is too late, so give it here). */
void mock_answer(mock_ep *ep, size_t i, int32_t status, const scim_msg *payload_from);
/* Send a request of `type` to `dst` with payload from `proto` (its u),
 * as the mock, with id `id`. */
void mock_request(mock_ep *ep, scim_node_id dst, scim_msg_type type, const scim_msg *proto, uint64_t id);
/* How many logged messages have this type. */
size_t mock_count(const mock_ep *ep, scim_msg_type type);
/* The k-th logged message of this type (NULL if none). */
const mock_log *mock_find(const mock_ep *ep, scim_msg_type type, size_t k);

#endif
