// The TLM-2.0 adapter (include/scimitar/tlm.h). It uses only scimitar's
// public API: a translate-only request on a host-fed device per
// transaction, answered through the completion callback.
#include "scimitar/tlm.h"

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "scimitar/kernel.h"

namespace scimitar {

namespace {

constexpr uint64_t page_size = 4096;

scim_time_t to_ps(const sc_core::sc_time &t) { return static_cast<scim_time_t>(t.to_seconds() * 1e12 + 0.5); }

sc_core::sc_time from_ps(scim_time_t ps) { return sc_core::sc_time(static_cast<double>(ps), sc_core::SC_PS); }

} // namespace

tlm_adapter::tlm_adapter(sc_core::sc_module_name name, scim_sim *sim_, const char *device, uint32_t pasid_)
    : sc_core::sc_module(name), target("target"), initiator("initiator"), sim(sim_), pasid(pasid_)
{
    dev = scim_sim_device(sim, device);
    if (!dev)
        throw std::runtime_error(std::string("scimitar::tlm_adapter: ") + scim_sim_errmsg(sim));
    native = scim_kernel_backend(scim_sim_kernel(sim)) == SCIM_BACKEND_NATIVE;
    scim_dev_callbacks cb = {};
    cb.completion = on_completion;
    if (scim_dev_set_callbacks(dev, &cb, this) != 0)
        throw std::runtime_error(std::string("scimitar::tlm_adapter: ") + scim_sim_errmsg(sim));
    target.register_b_transport(this, &tlm_adapter::b_transport);
    target.register_get_direct_mem_ptr(this, &tlm_adapter::get_direct_mem_ptr);
    target.register_transport_dbg(this, &tlm_adapter::transport_dbg);
    initiator.register_invalidate_direct_mem_ptr(this, &tlm_adapter::invalidate_direct_mem_ptr);
}

tlm_adapter::~tlm_adapter()
{
    if (dev)
        scim_dev_set_callbacks(dev, nullptr, nullptr);
}

void tlm_adapter::on_completion(void *ctx, scim_dev *, const scim_dev_completion *c)
{
    tlm_adapter *self = static_cast<tlm_adapter *>(ctx);
    auto it = self->waiting.find(c->tag);
    if (it == self->waiting.end())
        return; // not ours (another user of the device)
    pending *p = it->second;
    self->waiting.erase(it);
    p->done = true;
    p->status = c->status;
    p->completed = c->completed;
    p->pa.assign(c->pa, c->pa + c->n_pages);
    if (p->event)
        p->event->notify(sc_core::SC_ZERO_TIME);
}

void tlm_adapter::b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay)
{
    const bool write = trans.get_command() == tlm::TLM_WRITE_COMMAND;
    if (trans.get_command() == tlm::TLM_IGNORE_COMMAND || trans.get_data_length() == 0) {
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    trans.set_dmi_allowed(false);
    pending p;
    scim_dev_request req = {};
    req.op = write ? SCIM_DEV_TRANSLATE_WRITE : SCIM_DEV_TRANSLATE_READ;
    req.pasid = pasid;
    req.va = trans.get_address();
    req.size = trans.get_data_length();
    req.tag = next_tag++;
    scim_time_t local;
    sc_core::sc_event answered;
    if (native) {
        // run ahead: the request is made at the initiator's local time
        local = to_ps(sc_core::sc_time_stamp() + delay);
    } else {
        // the model advances with SystemC: be at the local time first
        wait(delay);
        delay = sc_core::SC_ZERO_TIME;
        local = scim_sim_now(sim);
        p.event = &answered;
    }
    req.at = local;
    waiting[req.tag] = &p;
    if (scim_dev_submit_request(dev, &req) != 0) {
        waiting.erase(req.tag);
        SC_REPORT_ERROR("scimitar/tlm_adapter", scim_sim_errmsg(sim));
        trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    if (native) {
        scim_kernel *k = scim_sim_kernel(sim);
        while (!p.done) {
            scim_time_t next = scim_kernel_next_time(k);
            int rc = next == SCIM_TIME_MAX ? SCIM_EDEADLOCK : scim_sim_run_until(sim, next);
            if (rc != 0) {
                waiting.erase(req.tag);
                SC_REPORT_ERROR("scimitar/tlm_adapter",
                                rc == SCIM_EDEADLOCK && next == SCIM_TIME_MAX
                                    ? "the model stopped before the translation was answered"
                                    : scim_sim_errmsg(sim));
                trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
                return;
            }
        }
    } else {
        while (!p.done)
            wait(answered);
    }
    // the model may have been ahead of this initiator: it waits until the answer
    sc_core::sc_time translation = from_ps(p.completed >= local ? p.completed - local : 0);
    last_time = translation;
    count++;
    if (native)
        delay += translation;
    if (p.status != SCIM_OK || p.pa.empty()) {
        errors++;
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    last_pa = p.pa[0];
    forward(trans, p.pa, delay, false);
}

// One transaction per page: the pages of a virtual range need not be
// contiguous in physical memory. The payload is restored before return.
bool tlm_adapter::forward(tlm::tlm_generic_payload &trans, const std::vector<uint64_t> &pa,
                          sc_core::sc_time &delay, bool debug)
{
    const uint64_t va = trans.get_address();
    unsigned char *data = trans.get_data_ptr();
    const unsigned int len = trans.get_data_length();
    unsigned char *be = trans.get_byte_enable_ptr();
    const unsigned int be_len = trans.get_byte_enable_length();
    unsigned int done = 0;
    std::vector<unsigned char> rotated;
    tlm::tlm_response_status status = tlm::TLM_OK_RESPONSE;
    for (size_t i = 0; i < pa.size() && done < len; i++) {
        uint64_t here = va + done;
        unsigned int piece = static_cast<unsigned int>(page_size - (here % page_size));
        if (piece > len - done)
            piece = len - done;
        trans.set_address(pa[i]);
        trans.set_data_ptr(data + done);
        trans.set_data_length(piece);
        trans.set_streaming_width(piece);
        if (be && be_len) {
            // byte enables repeat over the data: a piece starts at the
            // pattern's phase of its first byte, not at its start
            const unsigned int phase = done % be_len;
            if (phase) {
                rotated.assign(be + phase, be + be_len);
                rotated.insert(rotated.end(), be, be + phase);
                trans.set_byte_enable_ptr(rotated.data());
            } else {
                trans.set_byte_enable_ptr(be);
            }
            trans.set_byte_enable_length(be_len);
        }
        trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        if (debug)
            initiator->transport_dbg(trans);
        else
            initiator->b_transport(trans, delay);
        if (!debug && trans.get_response_status() != tlm::TLM_OK_RESPONSE) {
            status = trans.get_response_status();
            break;
        }
        done += piece;
    }
    trans.set_address(va);
    trans.set_data_ptr(data);
    trans.set_data_length(len);
    trans.set_streaming_width(len);
    trans.set_byte_enable_ptr(be);
    trans.set_response_status(status);
    return status == tlm::TLM_OK_RESPONSE;
}

bool tlm_adapter::get_direct_mem_ptr(tlm::tlm_generic_payload &trans, tlm::tlm_dmi &dmi)
{
    // a direct pointer would bypass translation and outlive an unmap:
    // deny access to the page asked about (the whole range would need
    // the whole address space's mapping)
    uint64_t page = trans.get_address() & ~(page_size - 1);
    dmi.allow_none();
    dmi.set_start_address(page);
    dmi.set_end_address(page + page_size - 1);
    return false;
}

unsigned int tlm_adapter::transport_dbg(tlm::tlm_generic_payload &trans)
{
    uint64_t va = trans.get_address();
    unsigned int len = trans.get_data_length();
    if (len == 0)
        return 0;
    std::vector<uint64_t> pa;
    const uint32_t space = pasid ? pasid : scim_dev_pasid(dev);
    for (uint64_t at = va; at < va + len; at = (at & ~(page_size - 1)) + page_size) {
        uint64_t frame;
        if (scim_sim_resolve(sim, space, at, &frame) != 1)
            return 0;
        pa.push_back(frame);
    }
    sc_core::sc_time unused = sc_core::SC_ZERO_TIME;
    forward(trans, pa, unused, true);
    return len;
}

void tlm_adapter::invalidate_direct_mem_ptr(sc_dt::uint64, sc_dt::uint64)
{
    // nothing was handed out on the translated side (DMI is refused)
}

} // namespace scimitar
