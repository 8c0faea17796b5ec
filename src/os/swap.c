/* The swap device: os.swap.parallel operations in service at once (reads
 * os.swap.read_latency, writes os.swap.write_latency), the rest queued in
 * order; and its slots (os.swap.size / 4 KiB of them). */
#include "os/os_internal.h"

#include <stdlib.h>

int os_swap_init(scim_os *os, scim_err *err)
{
    os->total_slots = os->p.swap_size / OS_PAGE_SIZE;
    scim_fifo_init(&os->swapq, sizeof(swap_io));
    os->in_service = calloc(os->p.swap_parallel, sizeof *os->in_service);
    os->in_service_free = calloc(os->p.swap_parallel, sizeof *os->in_service_free);
    if (!os->in_service || !os->in_service_free)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the OS");
    for (uint32_t i = 0; i < os->p.swap_parallel; i++)
        os->in_service_free[os->n_in_service_free++] = (uint32_t)os->p.swap_parallel - 1 - i;
    return 0;
}

void os_swap_free(scim_os *os)
{
    free(os->free_slots);
    scim_fifo_free(&os->swapq);
    free(os->in_service);
    free(os->in_service_free);
}

static void swap_start_next(scim_os *os);

static void swap_io_done(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    swap_io done = os->in_service[arg];
    os->in_service_free[os->n_in_service_free++] = (uint32_t)arg;
    os->swap_busy--;
    swap_start_next(os);
    if (done.write)
        os_swap_write_done(os, done.op, done.page);
    else if (scim_inject_fire(os->inj, SCIM_INJ_SWAP_READ_ERROR, NULL))
        os_swap_read_failed(os, done.job);
    else
        os_swap_read_done(os, done.job);
}

static void swap_start_next(scim_os *os)
{
    while (scim_fifo_len(&os->swapq) && os->swap_busy < os->p.swap_parallel) {
        uint32_t slot = os->in_service_free[--os->n_in_service_free];
        swap_io *io = &os->in_service[slot];
        scim_fifo_pop(&os->swapq, io);
        os->swap_busy++;
        scim_hist_record(os->st.swap_queue_delay, scim_kernel_now(os->k) - io->queued);
        scim_kernel_schedule(os->k, io->write ? os->p.swap_write_latency : os->p.swap_read_latency,
                             SCIM_PRIO_DEFAULT, swap_io_done, os, slot);
    }
}

void os_swap_submit(scim_os *os, swap_io io)
{
    io.queued = scim_kernel_now(os->k);
    if (!scim_fifo_push(&os->swapq, &io)) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    swap_start_next(os);
}

bool os_slot_alloc(scim_os *os, uint64_t *slot)
{
    if (os->n_free_slots) {
        *slot = os->free_slots[--os->n_free_slots];
        return true;
    }
    if (os->next_slot < os->total_slots) {
        *slot = os->next_slot++;
        return true;
    }
    return false;
}

void os_slot_free(scim_os *os, uint64_t slot)
{
    uint64_t *n = os_grow_or_fail(os, os->free_slots, &os->cap_free_slots, os->n_free_slots + 1, sizeof *n, 64);
    if (!n)
        return;
    os->free_slots = n;
    os->free_slots[os->n_free_slots++] = slot;
}
