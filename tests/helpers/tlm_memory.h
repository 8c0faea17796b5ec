// A TLM-2.0 memory target at physical addresses for the adapter's tests
// (test_tlm.cpp, test_tlm_edges.cpp): sparse 4 KiB pages, a fixed 10 ns
// per transaction, byte enables honoured, a transaction across a page
// refused (the adapter splits at pages), frames it is told to poison
// answering with an error, and every transaction's address logged.
#ifndef SCIM_TEST_TLM_MEMORY_H
#define SCIM_TEST_TLM_MEMORY_H

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "scimitar/tlm.h" // systemc and tlm first

#include <tlm_utils/simple_target_socket.h>

namespace scim_test {

struct memory : sc_core::sc_module {
    static constexpr uint64_t page = 4096;
    tlm_utils::simple_target_socket<memory> socket{"socket"};
    std::map<uint64_t, std::vector<unsigned char>> pages;
    std::set<uint64_t> poisoned;   // frames (pa / page) that answer with an error
    std::vector<uint64_t> accessed; // every b_transport's address

    explicit memory(sc_core::sc_module_name n) : sc_core::sc_module(n)
    {
        socket.register_b_transport(this, &memory::b_transport);
        socket.register_transport_dbg(this, &memory::transport_dbg);
    }
    unsigned char *at(uint64_t pa)
    {
        auto &p = pages[pa / page];
        if (p.empty())
            p.resize(page);
        return &p[pa % page];
    }
    unsigned int copy(tlm::tlm_generic_payload &t)
    {
        uint64_t pa = t.get_address();
        unsigned int len = t.get_data_length();
        if (len && pa / page != (pa + len - 1) / page) {
            t.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
            return 0;
        }
        if (poisoned.count(pa / page)) {
            t.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
            return 0;
        }
        unsigned char *be = t.get_byte_enable_ptr();
        unsigned int be_len = t.get_byte_enable_length();
        for (unsigned int i = 0; i < len; i++) {
            if (be && be_len && !be[i % be_len])
                continue;
            if (t.is_write())
                *at(pa + i) = t.get_data_ptr()[i];
            else
                t.get_data_ptr()[i] = *at(pa + i);
        }
        t.set_response_status(tlm::TLM_OK_RESPONSE);
        return len;
    }
    void b_transport(tlm::tlm_generic_payload &t, sc_core::sc_time &delay)
    {
        accessed.push_back(t.get_address());
        copy(t);
        delay += sc_core::sc_time(10, sc_core::SC_NS);
    }
    unsigned int transport_dbg(tlm::tlm_generic_payload &t) { return copy(t); }
};

} // namespace scim_test

#endif
