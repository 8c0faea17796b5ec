// The TLM-2.0 adapter's edges (test_tlm.cpp has its main path): a
// transaction with nothing to move (TLM_IGNORE_COMMAND, zero length) is
// answered OK without a DMA; byte enables keep their pattern across the
// page split (the second page's transaction starts at the pattern's phase
// of its first byte); an error from the memory target stops the split
// transaction with that status and restores the payload; debug transport
// of an unmapped address or of nothing moves nothing; a target's DMI
// invalidation is accepted. Expected bytes are worked out in the test.
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "scimitar/tlm.h" // systemc and tlm first

#include "scimitar/kernel.h"

#include "helpers/expect.h"
#include "helpers/tlm_memory.h"

namespace {

int failures = 0;

constexpr uint64_t REGION = 0x10000000, OUTSIDE = 0x50000000;

const char *const CONFIG = "kernel: {backend: native}\n"
                           "sim: {check_invariants: true}\n"
                           "processes:\n"
                           "  app:\n"
                           "    pasid: 1\n"
                           "    regions:\n"
                           "      - {va: 0x10000000, size: 2MiB, populate: true}\n"
                           "devices:\n"
                           "  dma0: {source: host, pasid: 1}\n";

using memory = scim_test::memory;

double stat(scim_sim *sim, const char *name)
{
    double v = -1;
    scim_stats_lookup(scim_sim_stats(sim), name, &v);
    return v;
}

struct initiator : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<initiator> socket{"socket"};
    memory *mem;
    scim_sim *sim;
    SC_HAS_PROCESS(initiator);
    initiator(sc_core::sc_module_name n, scim_sim *s, memory *m) : sc_core::sc_module(n), mem(m), sim(s)
    {
        SC_THREAD(run);
    }

    void fill(tlm::tlm_generic_payload &t, tlm::tlm_command cmd, uint64_t va, unsigned char *data, unsigned int len)
    {
        t.set_command(cmd);
        t.set_address(va);
        t.set_data_ptr(data);
        t.set_data_length(len);
        t.set_streaming_width(len);
        t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        t.set_byte_enable_ptr(nullptr);
        t.set_byte_enable_length(0);
    }

    uint64_t pa_of(uint64_t va)
    {
        uint64_t pa = 0;
        EXPECT(scim_sim_resolve(sim, 1, va, &pa) == 1, "0x%llx is mapped", (unsigned long long)va);
        return pa;
    }

    void run()
    {
        unsigned char data[16];
        for (unsigned i = 0; i < sizeof data; i++)
            data[i] = static_cast<unsigned char>(0xa0 + i);
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;

        // 1. nothing to move: OK, no DMA, nothing forwarded
        tlm::tlm_generic_payload t;
        fill(t, tlm::TLM_IGNORE_COMMAND, REGION, data, 8);
        socket->b_transport(t, delay);
        EXPECT(t.get_response_status() == tlm::TLM_OK_RESPONSE, "ignore command");
        fill(t, tlm::TLM_WRITE_COMMAND, REGION, data, 0);
        socket->b_transport(t, delay);
        EXPECT(t.get_response_status() == tlm::TLM_OK_RESPONSE, "zero length");
        EXPECT(mem->accessed.size() == 0, "%zu transactions forwarded", mem->accessed.size());
        EXPECT(stat(sim, "dma0.dma.requests") == 0, "%g DMAs", stat(sim, "dma0.dma.requests"));
        EXPECT(delay == sc_core::SC_ZERO_TIME, "no time");

        // 2. byte enables {on, off, off, on} over 8 bytes from 2 bytes before a
        //    page end: data bytes 0, 3, 4, 7 are written; the page split falls
        //    after byte 1, so the second page's bytes 0..5 are data 2..7 and
        //    written at 1, 2 and 5 (data 3, 4, 7)
        const uint64_t va = REGION + 0x3ffe;
        const uint64_t pa0 = pa_of(va), pa1 = pa_of(REGION + 0x4000);
        for (int i = 0; i < 2; i++)
            *mem->at(pa0 + i) = 0x11;
        for (int i = 0; i < 6; i++)
            *mem->at(pa1 + i) = 0x11;
        unsigned char be[4] = {0xff, 0, 0, 0xff};
        fill(t, tlm::TLM_WRITE_COMMAND, va, data, 8);
        t.set_byte_enable_ptr(be);
        t.set_byte_enable_length(4);
        socket->b_transport(t, delay);
        EXPECT(t.get_response_status() == tlm::TLM_OK_RESPONSE, "byte-enabled write");
        EXPECT(mem->accessed.size() == 2, "one transaction per page: %zu", mem->accessed.size());
        const unsigned char want0[2] = {0xa0, 0x11};
        const unsigned char want1[6] = {0x11, 0xa3, 0xa4, 0x11, 0x11, 0xa7};
        for (int i = 0; i < 2; i++)
            EXPECT(*mem->at(pa0 + i) == want0[i], "page 0 byte %d: 0x%02x, expected 0x%02x", i, *mem->at(pa0 + i),
                   want0[i]);
        for (int i = 0; i < 6; i++)
            EXPECT(*mem->at(pa1 + i) == want1[i], "page 1 byte %d: 0x%02x, expected 0x%02x", i, *mem->at(pa1 + i),
                   want1[i]);
        EXPECT(t.get_byte_enable_ptr() == be && t.get_byte_enable_length() == 4, "byte enables restored");
        EXPECT(t.get_address() == va && t.get_data_ptr() == data && t.get_data_length() == 8, "payload restored");

        // 3. the second page's frame answers with an error: the transaction
        //    stops there with that status, the first page was written
        mem->poisoned.insert(pa1 / 4096);
        size_t before = mem->accessed.size();
        fill(t, tlm::TLM_WRITE_COMMAND, va, data + 8, 8);
        socket->b_transport(t, delay);
        EXPECT(t.get_response_status() == tlm::TLM_GENERIC_ERROR_RESPONSE, "the target's error: %d",
               (int)t.get_response_status());
        EXPECT(mem->accessed.size() == before + 2, "both pages tried");
        EXPECT(*mem->at(pa0) == 0xa8 && *mem->at(pa0 + 1) == 0xa9, "the first page written");
        EXPECT(t.get_address() == va && t.get_data_ptr() == data + 8 && t.get_data_length() == 8, "restored");
        mem->poisoned.clear();

        // 4. debug transport: an unmapped address and an empty one move nothing
        unsigned char in[8] = {0};
        fill(t, tlm::TLM_READ_COMMAND, OUTSIDE, in, 8);
        EXPECT(socket->transport_dbg(t) == 0, "debug read outside every region");
        fill(t, tlm::TLM_READ_COMMAND, REGION, in, 0);
        EXPECT(socket->transport_dbg(t) == 0, "debug read of nothing");
        fill(t, tlm::TLM_READ_COMMAND, va, in, 2);
        EXPECT(socket->transport_dbg(t) == 2 && in[0] == 0xa8 && in[1] == 0xa9, "debug read back");

        // 5. the target withdraws DMI: nothing was handed out, nothing breaks
        mem->socket->invalidate_direct_mem_ptr(0, ~0ull);
    }
};

struct owned_sim {
    scim_sim *sim;
    ~owned_sim() { scim_sim_destroy(sim); }
};

scim_sim *build()
{
    scim_sim *sim = scim_sim_create();
    if (scim_sim_load_string(sim, CONFIG, "edges.yaml") || scim_sim_build(sim)) {
        std::fprintf(stderr, "test_tlm_edges: %s\n", scim_sim_errmsg(sim));
        std::exit(1);
    }
    return sim;
}

} // namespace

int sc_main(int, char **)
{
    owned_sim owner{build()};
    memory mem("mem");
    scimitar::tlm_adapter adapter("xlat", owner.sim, "dma0");
    initiator init("dma", owner.sim, &mem);
    init.socket.bind(adapter.target);
    adapter.initiator.bind(mem.socket);
    sc_core::sc_start();
    scim_sim_finish(owner.sim);
    EXPECT(stat(owner.sim, "dma0.dma.requests") == 2, "two translated DMAs: %g", stat(owner.sim, "dma0.dma.requests"));
    if (failures)
        std::fprintf(stderr, "test_tlm_edges: %d failure(s)\n", failures);
    else
        std::printf("test_tlm_edges: all checks passed\n");
    return failures ? 1 : 0;
}
