/* The only door between scimitar's C code and SystemC (src/core/sc_bridge.cpp).
 *
 * SystemC has one scheduler per process, cannot be re-elaborated, and cannot
 * restart after sc_stop(); scimitar therefore creates one bridge module the
 * first time a SystemC-backed kernel is made, never calls sc_stop(), and lets
 * sc_start() return by starvation. Several kernels ("clients") may attach to
 * the one module; each tells the bridge the absolute SystemC time of its next
 * event, and the module's single sc_event is notified for the earliest.
 *
 * Simulations in one process are independent: while a kernel runs SystemC
 * itself (scim_sc_run, scim_sc_run_until: scim_kernel_run), only its own
 * wake-ups are dispatched; every other client is paused, and the SystemC
 * time that passed is added to its base, so its own time and its pending
 * events are where they were (another simulation's run never executes its
 * events nor moves its clock). When a SystemC platform calls sc_start()
 * itself, every client is woken: they share SystemC time, as hosted models
 * must.
 * Every C++ exception is caught here and returned as SCIM_ESYSTEMC.
 */
#ifndef SCIM_SC_BRIDGE_H
#define SCIM_SC_BRIDGE_H

#include "core/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SCIM_SC_NEVER UINT64_MAX

/* Called by the bridge at SystemC time `now_ps`; dispatches every event due
 * and returns the absolute time of the client's next wake-up, or
 * SCIM_SC_NEVER. */
typedef uint64_t (*scim_sc_wake_fn)(void *ctx, uint64_t now_ps);

/* Attach a client; returns a client id >= 0 or a negative error. */
int scim_sc_attach(scim_sc_wake_fn wake, void *ctx, scim_err *err);
void scim_sc_detach(int client);
/* Ask for a wake-up of `client` at absolute time `abs_ps` (>= now). A later
 * request replaces an earlier one; SCIM_SC_NEVER cancels. */
void scim_sc_wake_at(int client, uint64_t abs_ps);
uint64_t scim_sc_now_ps(void);
/* Is `client` running SystemC itself (scim_sc_run*) with no other object
 * in the SystemC hierarchy than the bridge? Then no other process can
 * observe its events running ahead of SystemC's clock. */
bool scim_sc_alone(int client);
/* The absolute SystemC time of `client`'s time 0: when it attached, plus
 * every run of another client since (those pause it). */
uint64_t scim_sc_base_ps(int client);
/* Run SystemC for `client` until it starves (no notification left) — the
 * standalone mode; the other clients are paused meanwhile. Returns 0 or
 * SCIM_ESYSTEMC with the exception's text. */
int scim_sc_run(int client, scim_err *err);
/* Run SystemC for `client` until absolute time abs_ps (or starvation). */
int scim_sc_run_until(int client, uint64_t abs_ps, scim_err *err);

#ifdef __cplusplus
}
#endif
#endif
