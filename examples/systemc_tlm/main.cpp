// A tiny SystemC platform: a DMA initiator reaches memory through
// scimitar's TLM-2.0 adapter, which translates each access through the
// simulated IOTLB/IOMMU and adds the translation time to the delay.
//
//   cmake -S . -B build -DCMAKE_PREFIX_PATH=<scimitar prefix> && cmake --build build
//   ./build/systemc_tlm platform.yaml
#include "scimitar/tlm.h"

#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

#include <tlm_utils/tlm_quantumkeeper.h>

struct memory : sc_core::sc_module {
    tlm_utils::simple_target_socket<memory> socket{"socket"};
    std::map<uint64_t, unsigned char> bytes;
    explicit memory(sc_core::sc_module_name n) : sc_core::sc_module(n)
    {
        socket.register_b_transport(this, &memory::b_transport);
    }
    void b_transport(tlm::tlm_generic_payload &t, sc_core::sc_time &delay)
    {
        for (unsigned i = 0; i < t.get_data_length(); i++) {
            if (t.is_write())
                bytes[t.get_address() + i] = t.get_data_ptr()[i];
            else
                t.get_data_ptr()[i] = bytes[t.get_address() + i];
        }
        delay += sc_core::sc_time(50, sc_core::SC_NS);
        t.set_response_status(tlm::TLM_OK_RESPONSE);
    }
};

struct dma_engine : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<dma_engine> socket{"socket"};
    scimitar::tlm_adapter *xlat;
    SC_HAS_PROCESS(dma_engine);
    dma_engine(sc_core::sc_module_name n, scimitar::tlm_adapter *x) : sc_core::sc_module(n), xlat(x)
    {
        SC_THREAD(run);
    }
    void run()
    {
        tlm_utils::tlm_quantumkeeper qk;
        qk.reset();
        unsigned char buf[256];
        std::memset(buf, 0xab, sizeof buf);
        const uint64_t vas[] = {0x10000000, 0x10000100, 0x10001000, 0x20000000, 0x20000040, 0x30000000};
        for (uint64_t va : vas) {
            tlm::tlm_generic_payload t;
            t.set_command(tlm::TLM_WRITE_COMMAND);
            t.set_address(va);
            t.set_data_ptr(buf);
            t.set_data_length(sizeof buf);
            t.set_streaming_width(sizeof buf);
            sc_core::sc_time delay = qk.get_local_time();
            socket->b_transport(t, delay);
            qk.set(delay);
            std::printf("dma write va 0x%llx: %s, translation %.3f ns, pa 0x%llx\n", (unsigned long long)va,
                        t.is_response_ok() ? "ok" : t.get_response_string().c_str(),
                        xlat->last_translation_time().to_seconds() * 1e9,
                        (unsigned long long)(t.is_response_ok() ? xlat->last_physical_address() : 0));
            if (qk.need_sync())
                qk.sync();
        }
        qk.sync();
    }
};

int sc_main(int argc, char **argv)
{
    const char *config = argc > 1 ? argv[1] : "platform.yaml";
    scim_sim *sim = scim_sim_create();
    if (scim_sim_load_file(sim, config) || scim_sim_build(sim)) {
        std::fprintf(stderr, "systemc_tlm: %s\n", scim_sim_errmsg(sim));
        return 1;
    }
    tlm_utils::tlm_quantumkeeper::set_global_quantum(sc_core::sc_time(1, sc_core::SC_US));
    int rc = 0;
    {
        scimitar::tlm_adapter xlat("xlat", sim, "dma0");
        memory mem("mem");
        dma_engine dma("dma", &xlat);
        dma.socket.bind(xlat.target);
        xlat.initiator.bind(mem.socket);
        sc_core::sc_start();
        rc = scim_sim_finish(sim);
        double faults = 0;
        scim_stats_lookup(scim_sim_stats(sim), "dma0.faults", &faults);
        std::printf("%llu translations, %llu address errors, %.0f I/O page faults; SystemC time %s\n",
                    (unsigned long long)xlat.translations(), (unsigned long long)xlat.address_errors(), faults,
                    sc_core::sc_time_stamp().to_string().c_str());
    }
    scim_sim_destroy(sim);
    return rc != 0;
}
