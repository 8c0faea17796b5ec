// scimitar TLM-2.0 adapter: put a simulated device's address translation
// (its IOTLB, the IOMMU, I/O page faults) between a platform's DMA
// initiator and the platform's memory.
//
//     scim_sim *sim = ...;                 // built, with devices.dma0.source: host
//     scimitar::tlm_adapter xlat("xlat", sim, "dma0");
//     dma.socket.bind(xlat.target);        // virtual addresses in
//     xlat.initiator.bind(memory.socket);  // physical addresses out
//
// b_transport translates the payload's address (a virtual address of the
// device's process) through the simulated device, forwards the access
// with the physical address to `initiator` (one transaction per 4 KiB
// page: pages need not be contiguous), and adds the translation time
// (IOTLB hit, ATS walk, I/O page fault) to the annotated delay.
//
// Time. With kernel.backend: native the model runs ahead of SystemC (the
// loosely-timed style): the request is submitted at the initiator's local
// time, sc_time_stamp() + delay, and scimitar runs until it is answered,
// without waiting; pair it with a tlm_quantumkeeper as usual. With
// kernel.backend: systemc the model lives in SystemC's scheduler: the
// adapter first waits out the annotated delay, then waits for the answer,
// so SystemC time passes by the translation time (the delay returns 0).
// Both give the same latencies (tested). The native backend takes
// scimitar time 0 as SystemC time 0: build the simulation before
// sc_start().
//
// An access that cannot be resolved (outside every region, or a write to
// a read-only page) answers TLM_ADDRESS_ERROR_RESPONSE and forwards
// nothing. DMI is refused for the translated side (a pointer would bypass
// translation and outlive an unmap); debug transport translates by the
// page table, with no time and no statistics.
#ifndef SCIMITAR_TLM_H
#define SCIMITAR_TLM_H

#include <cstdint>
#include <map>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "scimitar/host.h"

namespace scimitar {

class tlm_adapter : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<tlm_adapter> target;       // virtual addresses in
    tlm_utils::simple_initiator_socket<tlm_adapter> initiator; // physical addresses out

    // `device` names a device with source: host in the built simulation;
    // pasid 0 is the device's own address space. Throws std::runtime_error
    // (with scimitar's message) if there is no such device.
    tlm_adapter(sc_core::sc_module_name name, scim_sim *sim, const char *device, uint32_t pasid = 0);
    ~tlm_adapter() override;

    // The last translation: its time and physical address of its first page.
    sc_core::sc_time last_translation_time() const { return last_time; }
    uint64_t last_physical_address() const { return last_pa; }
    uint64_t translations() const { return count; }
    uint64_t address_errors() const { return errors; }

private:
    struct pending {
        bool done = false;
        int status = 0;
        scim_time_t completed = 0;
        std::vector<uint64_t> pa;
        sc_core::sc_event *event = nullptr;
    };

    void b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);
    bool get_direct_mem_ptr(tlm::tlm_generic_payload &trans, tlm::tlm_dmi &dmi);
    unsigned int transport_dbg(tlm::tlm_generic_payload &trans);
    void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);
    static void on_completion(void *ctx, scim_dev *dev, const scim_dev_completion *c);
    bool forward(tlm::tlm_generic_payload &trans, const std::vector<uint64_t> &pa, sc_core::sc_time &delay,
                 bool debug);

    scim_sim *sim;
    scim_dev *dev;
    uint32_t pasid;
    bool native;
    uint64_t next_tag = 1;
    std::map<uint64_t, pending *> waiting;
    sc_core::sc_time last_time = sc_core::SC_ZERO_TIME;
    uint64_t last_pa = 0, count = 0, errors = 0;
};

} // namespace scimitar

#endif
