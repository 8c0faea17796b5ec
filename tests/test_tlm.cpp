// The TLM-2.0 adapter in a small SystemC platform: an initiator DMAs
// through scimitar::tlm_adapter into a memory target, once with the model
// on the native kernel (run ahead, loosely timed, with a quantum keeper)
// and once on the SystemC kernel (the adapter waits). References: the
// OS's page table (where the data must land), the device's statistics for
// the same accesses (every translation time), hand sums (an IOTLB hit is
// the 1 ns lookup), and the other backend (identical times).
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "scimitar/tlm.h" // systemc and tlm first

#include <tlm_utils/tlm_quantumkeeper.h>

#include "scimitar/kernel.h"

#include "helpers/expect.h"
#include "helpers/tlm_memory.h"

namespace {

int failures = 0;

constexpr uint64_t REGION = 0x10000000, COLD = 0x10200000, OUTSIDE = 0x50000000;

const char *const CONFIG = "kernel: {backend: %s}\n"
                           "sim: {check_invariants: true}\n"
                           "memory: {size: 256MiB, latency: 90ns, bandwidth: 0}\n"
                           "fabric:\n"
                           "  links:\n"
                           "    - {a: dma0, b: iommu, latency: 400ns}\n"
                           "    - {a: iommu, b: mem, latency: 20ns}\n"
                           "    - {a: os, b: mem, latency: 50ns}\n"
                           "    - {a: os, b: iommu, latency: 50ns}\n"
                           "iommu: {clock: 1GHz, walkers: 4, iotlb: {entries: 64, ways: 8, latency: 2}}\n"
                           "os: {iopf: {wakeup: 1us}, iopf_cost: 3us, iopf_page_cost: 1us}\n"
                           "processes:\n"
                           "  app:\n"
                           "    pasid: 1\n"
                           "    regions:\n"
                           "      - {va: 0x10000000, size: 2MiB, populate: true}\n"
                           "      - {va: 0x10200000, size: 2MiB}\n"
                           "devices:\n"
                           "  dma0: {source: host, pasid: 1, clock: 1GHz,\n"
                           "         iotlb: {entries: 16, ways: 4, page_sizes: 4K, latency: 1}}\n";

scim_sim *build(const char *backend)
{
    char yaml[2048];
    std::snprintf(yaml, sizeof yaml, CONFIG, backend);
    scim_sim *sim = scim_sim_create();
    if (scim_sim_load_string(sim, yaml, "tlm.yaml") || scim_sim_build(sim)) {
        std::fprintf(stderr, "test_tlm: %s\n", scim_sim_errmsg(sim));
        std::exit(1);
    }
    return sim;
}

using memory = scim_test::memory;

// Times in ps (SystemC's default resolution), compared exactly.
uint64_t ps(const sc_core::sc_time &t) { return t.value(); }

struct result {
    std::vector<uint64_t> xlat_ps; // the adapter's translation time per access
    std::vector<tlm::tlm_response_status> status;
    std::vector<uint64_t> added_ps; // what b_transport added to the annotated delay
    std::vector<uint64_t> after_ps; // the annotated delay after b_transport
};

// The initiator: a fixed list of DMAs.
struct initiator : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<initiator> socket{"socket"};
    scimitar::tlm_adapter *adapter;
    memory *mem;
    scim_sim *sim;
    bool native;
    result r;
    SC_HAS_PROCESS(initiator);
    initiator(sc_core::sc_module_name n, scim_sim *s, scimitar::tlm_adapter *a, memory *m)
        : sc_core::sc_module(n), adapter(a), mem(m), sim(s)
    {
        native = scim_kernel_backend(scim_sim_kernel(sim)) == SCIM_BACKEND_NATIVE;
        SC_THREAD(run);
    }

    tlm::tlm_response_status dma(tlm::tlm_command cmd, uint64_t va, unsigned char *data, unsigned int len,
                                 tlm_utils::tlm_quantumkeeper &qk)
    {
        tlm::tlm_generic_payload t;
        t.set_command(cmd);
        t.set_address(va);
        t.set_data_ptr(data);
        t.set_data_length(len);
        t.set_streaming_width(len);
        t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_core::sc_time delay = qk.get_local_time(), before = delay;
        socket->b_transport(t, delay);
        r.xlat_ps.push_back(ps(adapter->last_translation_time()));
        r.added_ps.push_back(delay >= before ? ps(delay - before) : 0);
        r.after_ps.push_back(ps(delay));
        r.status.push_back(t.get_response_status());
        qk.set(delay);
        if (qk.need_sync())
            qk.sync();
        return t.get_response_status();
    }

    void run()
    {
        tlm_utils::tlm_quantumkeeper qk;
        qk.reset();
        unsigned char out[8192], in[8192];
        for (unsigned i = 0; i < sizeof out; i++)
            out[i] = static_cast<unsigned char>(i * 7 + 3);
        uint64_t pa;
        // 1. a cold write: the data lands where the page table says
        EXPECT(dma(tlm::TLM_WRITE_COMMAND, REGION + 0x100, out, 64, qk) == tlm::TLM_OK_RESPONSE, "cold write");
        EXPECT(scim_sim_resolve(sim, 1, REGION + 0x100, &pa) == 1, "mapped");
        EXPECT(std::memcmp(mem->at(pa), out, 64) == 0, "data at pa 0x%llx", (unsigned long long)pa);
        EXPECT(adapter->last_physical_address() == pa, "last pa");
        // 2. read it back: an IOTLB hit, the 1 ns lookup
        std::memset(in, 0, sizeof in);
        EXPECT(dma(tlm::TLM_READ_COMMAND, REGION + 0x100, in, 64, qk) == tlm::TLM_OK_RESPONSE, "hit read");
        EXPECT(std::memcmp(in, out, 64) == 0, "read back");
        EXPECT(r.xlat_ps.back() == 1000, "hit costs the lookup: %llu ps", (unsigned long long)r.xlat_ps.back());
        // 3. across a page boundary: two transactions to two frames
        size_t before = mem->accessed.size();
        EXPECT(dma(tlm::TLM_WRITE_COMMAND, REGION + 0x3f00, out, 512, qk) == tlm::TLM_OK_RESPONSE, "two pages");
        EXPECT(mem->accessed.size() == before + 2, "one transaction per page");
        uint64_t pa0, pa1;
        scim_sim_resolve(sim, 1, REGION + 0x3f00, &pa0);
        scim_sim_resolve(sim, 1, REGION + 0x4000, &pa1);
        EXPECT(std::memcmp(mem->at(pa0), out, 256) == 0 && std::memcmp(mem->at(pa1), out + 256, 256) == 0,
               "split at the page");
        // 4. a page not mapped yet: an I/O page fault, then the access
        EXPECT(dma(tlm::TLM_WRITE_COMMAND, COLD + 8, out, 8, qk) == tlm::TLM_OK_RESPONSE, "fault");
        EXPECT(r.xlat_ps.back() > 5000000, "a fault takes microseconds: %llu ps",
               (unsigned long long)r.xlat_ps.back());
        // 5. outside every region: an address error, nothing forwarded
        before = mem->accessed.size();
        EXPECT(dma(tlm::TLM_READ_COMMAND, OUTSIDE, in, 8, qk) == tlm::TLM_ADDRESS_ERROR_RESPONSE, "no region");
        EXPECT(mem->accessed.size() == before, "nothing forwarded");
        EXPECT(adapter->address_errors() == 1, "counted");
        // 6. DMI is refused on the translated side
        tlm::tlm_generic_payload t;
        tlm::tlm_dmi dmi;
        t.set_address(REGION);
        EXPECT(!socket->get_direct_mem_ptr(t, dmi), "DMI refused");
        // 7. debug transport translates by the page table, no time
        std::memset(in, 0, sizeof in);
        t.set_command(tlm::TLM_READ_COMMAND);
        t.set_address(REGION + 0x100);
        t.set_data_ptr(in);
        t.set_data_length(64);
        EXPECT(socket->transport_dbg(t) == 64 && std::memcmp(in, out, 64) == 0, "debug read");
        qk.sync();
    }
};

// Destroyed last (first member): the adapter lets go of its device first.
struct owned_sim {
    scim_sim *sim;
    ~owned_sim() { scim_sim_destroy(sim); }
};

struct platform {
    owned_sim owner;
    scim_sim *sim;
    memory mem;
    scimitar::tlm_adapter adapter;
    initiator init;
    platform(const char *backend)
        : owner{build(backend)}, sim(owner.sim), mem((std::string("mem_") + backend).c_str()),
          adapter((std::string("xlat_") + backend).c_str(), sim, "dma0"),
          init((std::string("dma_") + backend).c_str(), sim, &adapter, &mem)
    {
        init.socket.bind(adapter.target);
        adapter.initiator.bind(mem.socket);
    }
};

double stat(scim_sim *sim, const char *name)
{
    double v = -1;
    scim_stats_lookup(scim_sim_stats(sim), name, &v);
    return v;
}

} // namespace

int sc_main(int, char **)
{
    tlm_utils::tlm_quantumkeeper::set_global_quantum(sc_core::sc_time(1, sc_core::SC_US));
    // a missing device is an exception with scimitar's message
    scim_sim *probe = build("native");
    try {
        scimitar::tlm_adapter bad("bad", probe, "nic9");
        EXPECT(false, "no exception for a missing device");
    } catch (const std::runtime_error &e) {
        EXPECT(std::strstr(e.what(), "nic9") != nullptr, "%s", e.what());
    }
    scim_sim_destroy(probe);

    platform native("native"), systemc("systemc");
    sc_core::sc_start();
    scim_sim_finish(native.sim);
    scim_sim_finish(systemc.sim);

    const result &a = native.init.r, &b = systemc.init.r;
    EXPECT(a.xlat_ps.size() == 5 && b.xlat_ps.size() == 5, "five DMAs each");
    const uint64_t mem_ps = 10000; // the memory target's delay per page
    for (size_t i = 0; i < a.xlat_ps.size() && i < b.xlat_ps.size(); i++) {
        EXPECT(a.xlat_ps[i] == b.xlat_ps[i], "DMA %zu: native %llu ps, systemc %llu ps", i,
               (unsigned long long)a.xlat_ps[i], (unsigned long long)b.xlat_ps[i]);
        EXPECT(a.status[i] == b.status[i], "DMA %zu status", i);
        uint64_t mem = a.status[i] == tlm::TLM_OK_RESPONSE ? (i == 2 ? 2 : 1) * mem_ps : 0;
        // native: the translation and the memory's time are added to the delay
        EXPECT(a.added_ps[i] == a.xlat_ps[i] + mem, "DMA %zu: added %llu ps", i, (unsigned long long)a.added_ps[i]);
        // systemc: the delay was waited out and the translation passed as time;
        // only the memory's time is annotated
        EXPECT(b.after_ps[i] == mem, "DMA %zu: systemc delay %llu ps", i, (unsigned long long)b.after_ps[i]);
    }
    // the device's statistics hold the same translations
    for (scim_sim *sim : {native.sim, systemc.sim}) {
        EXPECT(stat(sim, "dma0.dma.requests") == 5, "%g requests", stat(sim, "dma0.dma.requests"));
        EXPECT(stat(sim, "dma0.dma.errors") == 1, "one failed");
        EXPECT(stat(sim, "dma0.dma.latency.min") == 1000, "hit: %g ps", stat(sim, "dma0.dma.latency.min"));
        EXPECT(stat(sim, "dma0.dma.latency.max") == (double)a.xlat_ps[3], "fault: %g ps vs %llu ps",
               stat(sim, "dma0.dma.latency.max"), (unsigned long long)a.xlat_ps[3]);
        EXPECT(stat(sim, "mem.reads") + stat(sim, "mem.writes") > 0, "walks read memory");
        // the fault that was resolved, and the one outside every region
        EXPECT(stat(sim, "dma0.faults") == 2, "%g faults", stat(sim, "dma0.faults"));
        EXPECT(stat(sim, "dma0.pri.failed") == 1, "the one outside failed");
    }
    if (failures)
        std::fprintf(stderr, "test_tlm: %d failure(s)\n", failures);
    else
        std::printf("test_tlm: all checks passed\n");
    return failures ? 1 : 0;
}
