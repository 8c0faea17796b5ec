// The TLM-2.0 adapter beside other users of its simulation (test_tlm has
// its main path, test_tlm_edges its edges): a transaction after the
// platform finished the simulation answers TLM_GENERIC_ERROR_RESPONSE
// with one SystemC error report carrying scimitar's reason, and forwards
// nothing; a completion the adapter did not ask
// for (the platform's own request on the device) is left alone; an
// adapter with an explicit PASID translates debug transport in it; a byte
// enable pointer of length 0 enables every byte. Expected values are
// written here (messages, byte values) or read from the OS's page table.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "scimitar/tlm.h" // systemc and tlm first

#include "scimitar/kernel.h"

#include "helpers/expect.h"
#include "helpers/tlm_memory.h"

namespace {

int failures = 0;

constexpr uint64_t MAPPED = 0x10000000;

const char *const CONFIG = "kernel: {backend: native}\n"
                           "sim: {check_invariants: true}\n"
                           "processes:\n"
                           "  app:\n"
                           "    pasid: 1\n"
                           "    regions:\n"
                           "      - {va: 0x10000000, size: 2MiB, populate: true}\n"
                           "devices:\n"
                           "  dma0: {source: host, pasid: 1}\n";


scim_sim *build()
{
    scim_sim *sim = scim_sim_create();
    if (scim_sim_load_string(sim, CONFIG, "errors.yaml") || scim_sim_build(sim)) {
        std::fprintf(stderr, "test_tlm_errors: %s\n", scim_sim_errmsg(sim));
        std::exit(1);
    }
    return sim;
}

double stat(scim_sim *sim, const char *name)
{
    double v = -1;
    scim_stats_lookup(scim_sim_stats(sim), name, &v);
    return v;
}

using memory = scim_test::memory;

// The adapter's error reports are cached, not thrown: the test reads them.
struct report {
    int count;
    std::string msg;
};
report last_report()
{
    const sc_core::sc_report *r = sc_core::sc_report_handler::get_cached_report();
    report out{sc_core::sc_report_handler::get_count("scimitar/tlm_adapter"), r ? r->get_msg() : ""};
    sc_core::sc_report_handler::clear_cached_report();
    return out;
}

// One platform: an initiator thread, an adapter, a memory.
struct initiator : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<initiator> socket{"socket"};
    std::vector<void (*)(initiator &)> steps;
    scim_sim *sim;
    memory *mem;
    scimitar::tlm_adapter *xlat;
    SC_HAS_PROCESS(initiator);
    initiator(sc_core::sc_module_name n, scim_sim *s, memory *m, scimitar::tlm_adapter *a)
        : sc_core::sc_module(n), sim(s), mem(m), xlat(a)
    {
        SC_THREAD(run);
    }
    void run()
    {
        for (auto step : steps)
            step(*this);
    }
    tlm::tlm_response_status access(tlm::tlm_command cmd, uint64_t va, unsigned char *data, unsigned int len,
                                    unsigned char *be = nullptr, unsigned int be_len = 0)
    {
        tlm::tlm_generic_payload t;
        t.set_command(cmd);
        t.set_address(va);
        t.set_data_ptr(data);
        t.set_data_length(len);
        t.set_streaming_width(len);
        t.set_byte_enable_ptr(be);
        t.set_byte_enable_length(be_len);
        t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        socket->b_transport(t, delay);
        return t.get_response_status();
    }
};

struct owned_sim {
    scim_sim *sim;
    ~owned_sim() { scim_sim_destroy(sim); }
};

struct platform {
    owned_sim owner;
    memory mem;
    scimitar::tlm_adapter xlat;
    initiator init;
    platform(const char *name, scim_sim *sim, uint32_t pasid = 0)
        : owner{sim}, mem((std::string("mem_") + name).c_str()),
          xlat((std::string("xlat_") + name).c_str(), sim, "dma0", pasid),
          init((std::string("dma_") + name).c_str(), sim, &mem, &xlat)
    {
        init.socket.bind(xlat.target);
        xlat.initiator.bind(mem.socket);
    }
};

// A: the simulation was finished before the transaction
void after_finish(initiator &i)
{
    scim_sim_finish(i.sim);
    unsigned char d[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int before = last_report().count;
    EXPECT(i.access(tlm::TLM_WRITE_COMMAND, MAPPED, d, 8) == tlm::TLM_GENERIC_ERROR_RESPONSE, "after finish");
    report r = last_report();
    EXPECT(r.count == before + 1, "one report: %d", r.count - before);
    EXPECT(r.msg == "the simulation is finished; submit before scim_sim_finish()", "message: %s", r.msg.c_str());
    EXPECT(i.mem->accessed.empty() && i.xlat->translations() == 0, "nothing forwarded, nothing counted");
}

// D: the platform's own request on the adapter's device (tag 777) is
// answered while the adapter waits for its own; the adapter counts only
// its own, and the device both. A byte enable pointer of length 0 enables
// every byte. Debug transport in the adapter's explicit PASID reads back
// what was written.
void foreign_and_pasid(initiator &i)
{
    scim_dev *dev = scim_sim_device(i.sim, "dma0");
    scim_dev_request own = {};
    own.op = SCIM_DEV_TRANSLATE_READ;
    own.pasid = 1;
    own.va = MAPPED + 0x5000;
    own.size = 64;
    own.tag = 777;
    EXPECT(scim_dev_submit_request(dev, &own) == 0, "%s", scim_sim_errmsg(i.sim));
    unsigned char d[8] = {0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7}, none[1] = {0};
    EXPECT(i.access(tlm::TLM_WRITE_COMMAND, MAPPED + 0x100, d, 8, none, 0) == tlm::TLM_OK_RESPONSE, "write");
    EXPECT(i.xlat->translations() == 1, "the adapter's own only: %llu",
           (unsigned long long)i.xlat->translations());
    uint64_t pa = 0;
    EXPECT(scim_sim_resolve(i.sim, 1, MAPPED + 0x100, &pa) == 1, "mapped");
    EXPECT(std::memcmp(i.mem->at(pa), d, 8) == 0, "every byte written (length-0 byte enables)");
    unsigned char back[8] = {0};
    tlm::tlm_generic_payload t;
    t.set_command(tlm::TLM_READ_COMMAND);
    t.set_address(MAPPED + 0x100);
    t.set_data_ptr(back);
    t.set_data_length(8);
    EXPECT(i.socket->transport_dbg(t) == 8 && std::memcmp(back, d, 8) == 0, "debug read in PASID 1");
    // run the model out: the platform's own request is answered too
    EXPECT(scim_sim_run(i.sim) == 0, "%s", scim_sim_errmsg(i.sim));
    EXPECT(stat(i.sim, "dma0.dma.requests") == 2, "the device saw both: %g", stat(i.sim, "dma0.dma.requests"));
}

} // namespace

int sc_main(int, char **)
{
    // cached, so the thread goes on and the test reads them
    sc_core::sc_report_handler::set_actions("scimitar/tlm_adapter", sc_core::SC_ERROR, sc_core::SC_CACHE_REPORT);
    platform a("finished", build()), d("pasid", build(), 1);
    a.init.steps = {after_finish};
    d.init.steps = {foreign_and_pasid};
    sc_core::sc_start();
    EXPECT(last_report().count == 1, "one error report in all");
    if (failures)
        std::fprintf(stderr, "test_tlm_errors: %d failure(s)\n", failures);
    else
        std::printf("test_tlm_errors: all checks passed\n");
    return failures ? 1 : 0;
}
