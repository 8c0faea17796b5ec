// The SystemC side of scimitar's event kernel. See sc_bridge.h for the why.
//
// This is the only C++ in scimitar. It holds one process-wide module because
// SystemC itself is process-wide (one scheduler, elaborated once); that is the
// one deliberate piece of global state in the library.
#include "core/sc_bridge.h"

#include <cstdlib>
#include <exception>
#include <vector>

#include <systemc>

namespace {

struct Client {
    scim_sc_wake_fn wake = nullptr;
    void *ctx = nullptr;
    uint64_t next = SCIM_SC_NEVER;
    uint64_t base = 0; // SystemC time of the client's time 0
    bool used = false;
};

class Bridge : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(Bridge);
    explicit Bridge(sc_core::sc_module_name name) : sc_core::sc_module(name)
    {
        SC_METHOD(on_wake);
        sensitive << wake_event;
        dont_initialize();
        units_per_ps = sc_core::sc_time(1, sc_core::SC_PS).value();
    }

    uint64_t now_ps() const { return sc_core::sc_time_stamp().value() / units_per_ps; }

    // While a kernel runs SystemC itself (scim_sc_run), only that client
    // is woken: another simulation's events wait for its own run.
    bool awake(size_t i) const { return clients[i].used && (exclusive < 0 || (size_t)exclusive == i); }

    void rearm()
    {
        uint64_t earliest = SCIM_SC_NEVER;
        for (size_t i = 0; i < clients.size(); i++)
            if (awake(i) && clients[i].next < earliest)
                earliest = clients[i].next;
        if (earliest == notified_at)
            return;
        wake_event.cancel();
        notified_at = earliest;
        if (earliest == SCIM_SC_NEVER)
            return;
        uint64_t now = now_ps();
        uint64_t delay = earliest > now ? earliest - now : 0;
        if (delay == 0)
            wake_event.notify(sc_core::SC_ZERO_TIME);
        else
            wake_event.notify(sc_core::sc_time::from_value(delay * units_per_ps));
    }

    // A run of one client: the others are paused; SystemC time that passed
    // meanwhile is not theirs, so their time 0 and pending wake-up move by
    // it, and each sees its own timeline as if it ran alone.
    void begin_exclusive(int client)
    {
        exclusive = client;
        exclusive_from = now_ps();
        // Nothing but this module in the SystemC hierarchy: no other process
        // can see the client's events run ahead of SystemC's clock.
        alone = sc_core::sc_get_top_level_objects().size() == 1;
        rearm();
    }
    void end_exclusive()
    {
        uint64_t passed = now_ps() - exclusive_from;
        for (size_t i = 0; i < clients.size(); i++) {
            if (!clients[i].used || (int)i == exclusive)
                continue;
            clients[i].base += passed;
            if (clients[i].next != SCIM_SC_NEVER)
                clients[i].next += passed;
        }
        exclusive = -1;
        alone = false;
        rearm();
    }

    std::vector<Client> clients;
    uint64_t units_per_ps = 1;
    int exclusive = -1;
    uint64_t exclusive_from = 0;
    bool alone = false; // during an exclusive run with no other SystemC object

private:
    void on_wake()
    {
        notified_at = SCIM_SC_NEVER;
        uint64_t now = now_ps();
        // Index loop: a wake callback may attach or detach clients.
        for (size_t i = 0; i < clients.size(); i++) {
            if (awake(i) && clients[i].next <= now) {
                clients[i].next = SCIM_SC_NEVER;
                uint64_t next = clients[i].wake(clients[i].ctx, now);
                if (i < clients.size() && clients[i].used && next < clients[i].next)
                    clients[i].next = next;
            }
        }
        rearm();
    }

    sc_core::sc_event wake_event;
    uint64_t notified_at = SCIM_SC_NEVER;
};

Bridge *bridge = nullptr;

// SystemC warns (W571) when sc_start() finds nothing to do: a scimitar
// run whose model is idle. The library never prints, so that warning is
// silenced while scimitar itself calls sc_start(), and only then; a
// platform's own sc_start() keeps the actions it chose.
class QuietIdleStart {
public:
    QuietIdleStart()
        : saved(sc_core::sc_report_handler::set_actions(sc_core::SC_ID_NO_SC_START_ACTIVITY_,
                                                        sc_core::SC_DO_NOTHING))
    {
    }
    ~QuietIdleStart() { sc_core::sc_report_handler::set_actions(sc_core::SC_ID_NO_SC_START_ACTIVITY_, saved); }

private:
    sc_core::sc_actions saved;
};

int fail_from_exception(scim_err *err, const char *what, const char *doing)
{
    return scim_err_set(err, SCIM_ESYSTEMC, "SystemC error while %s: %s", doing, what);
}

} // namespace

extern "C" int scim_sc_attach(scim_sc_wake_fn wake, void *ctx, scim_err *err)
{
    try {
        if (!bridge) {
            // The copyright banner goes to stdout, which would corrupt
            // machine-readable output; keep a user's explicit choice.
            setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
            if (sc_core::sc_get_time_resolution() > sc_core::sc_time(1, sc_core::SC_PS))
                return scim_err_set(err, SCIM_ESYSTEMC,
                                    "scimitar needs a SystemC time resolution of 1 ps or finer "
                                    "(it is %s); call sc_set_time_resolution(1, SC_PS) or leave the default",
                                    sc_core::sc_get_time_resolution().to_string().c_str());
            bridge = new Bridge("scimitar_kernel_bridge");
        }
        for (size_t i = 0; i < bridge->clients.size(); i++) {
            if (!bridge->clients[i].used) {
                bridge->clients[i] = Client{wake, ctx, SCIM_SC_NEVER, bridge->now_ps(), true};
                return (int)i;
            }
        }
        bridge->clients.push_back(Client{wake, ctx, SCIM_SC_NEVER, bridge->now_ps(), true});
        return (int)(bridge->clients.size() - 1);
    } catch (const std::exception &e) {
        return scim_err_set(err, SCIM_ESYSTEMC,
                            "cannot create scimitar's SystemC module: %s; create the scimitar "
                            "simulation during elaboration, before the first sc_start(), or use "
                            "kernel.backend: native",
                            e.what());
    } catch (...) {
        return scim_err_set(err, SCIM_ESYSTEMC, "cannot create scimitar's SystemC module (unknown exception)");
    }
}

extern "C" void scim_sc_detach(int client)
{
    if (!bridge || client < 0 || (size_t)client >= bridge->clients.size())
        return;
    bridge->clients[(size_t)client] = Client{};
    try {
        bridge->rearm();
    } catch (...) {
    }
}

extern "C" void scim_sc_wake_at(int client, uint64_t abs_ps)
{
    if (!bridge || client < 0 || (size_t)client >= bridge->clients.size())
        return;
    bridge->clients[(size_t)client].next = abs_ps;
    try {
        bridge->rearm();
    } catch (...) {
    }
}

extern "C" bool scim_sc_alone(int client)
{
    return bridge && client >= 0 && bridge->exclusive == client && bridge->alone;
}

extern "C" uint64_t scim_sc_now_ps(void)
{
    return bridge ? bridge->now_ps() : sc_core::sc_time_stamp().value();
}

extern "C" uint64_t scim_sc_base_ps(int client)
{
    if (!bridge || client < 0 || (size_t)client >= bridge->clients.size())
        return 0;
    return bridge->clients[(size_t)client].base;
}

namespace {
// Pauses every other client for the length of one client's own sc_start().
class Exclusive {
public:
    explicit Exclusive(int client) : on(bridge && client >= 0 && bridge->exclusive < 0)
    {
        if (on)
            bridge->begin_exclusive(client);
    }
    ~Exclusive()
    {
        if (on) {
            try {
                bridge->end_exclusive();
            } catch (...) {
            }
        }
    }

private:
    bool on;
};
} // namespace

extern "C" int scim_sc_run(int client, scim_err *err)
{
    try {
        QuietIdleStart quiet;
        Exclusive only(client);
        sc_core::sc_start();
        return 0;
    } catch (const std::exception &e) {
        return fail_from_exception(err, e.what(), "running sc_start()");
    } catch (...) {
        return fail_from_exception(err, "unknown exception", "running sc_start()");
    }
}

extern "C" int scim_sc_run_until(int client, uint64_t abs_ps, scim_err *err)
{
    try {
        uint64_t now = scim_sc_now_ps();
        QuietIdleStart quiet;
        Exclusive only(client);
        if (abs_ps > now) {
            uint64_t units = bridge ? bridge->units_per_ps : 1;
            sc_core::sc_start(sc_core::sc_time::from_value((abs_ps - now) * units),
                              sc_core::SC_RUN_TO_TIME);
        }
        return 0;
    } catch (const std::exception &e) {
        return fail_from_exception(err, e.what(), "running sc_start(t)");
    } catch (...) {
        return fail_from_exception(err, "unknown exception", "running sc_start(t)");
    }
}

/* libsystemc.so defines main(), which calls sc_main() (declared extern "C"
 * in sysc/kernel/sc_externs.h), so every program linked with SystemC needs
 * one, even a C program with its own main() that drives the kernel itself.
 * The library offers a weak one that does nothing: a SystemC platform's own
 * sc_main overrides it, with static and with shared linking. */
extern "C" __attribute__((weak, visibility("default"))) int sc_main(int, char **) { return 0; }
