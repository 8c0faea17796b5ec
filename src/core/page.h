/* Page geometry of the model: x86-64's 4 KiB base page, and the shift,
 * size and mask helpers every layer uses instead of bare 12/4096/0xfff.
 * Larger pages (2 MiB, 1 GiB) are shifts: SCIM_PAGE_SHIFT + 9 * level. */
#ifndef SCIM_CORE_PAGE_H
#define SCIM_CORE_PAGE_H

#include <stdint.h>

#define SCIM_PAGE_SHIFT 12u
#define SCIM_PAGE_SIZE (1ull << SCIM_PAGE_SHIFT)
#define SCIM_PAGE_MASK (SCIM_PAGE_SIZE - 1)
/* Shifts of the leaf sizes of a 9-bit-per-level radix table. */
#define SCIM_SHIFT_4K 12u
#define SCIM_SHIFT_2M 21u
#define SCIM_SHIFT_1G 30u

static inline uint64_t scim_page_size(unsigned shift) { return 1ull << shift; }
static inline uint64_t scim_page_mask(unsigned shift) { return (1ull << shift) - 1; }
/* The start of the page of `shift` holding addr, and addr's offset in it. */
static inline uint64_t scim_page_base(uint64_t addr, unsigned shift) { return addr & ~scim_page_mask(shift); }
static inline uint64_t scim_page_offset(uint64_t addr, unsigned shift) { return addr & scim_page_mask(shift); }
/* 4 KiB frame and page numbers. */
static inline uint64_t scim_pfn(uint64_t pa) { return pa >> SCIM_PAGE_SHIFT; }
static inline uint64_t scim_vpn(uint64_t va) { return va >> SCIM_PAGE_SHIFT; }
static inline uint64_t scim_pfn_addr(uint64_t pfn) { return pfn << SCIM_PAGE_SHIFT; }
/* Pages of [addr, addr + len) once both ends are aligned out to 4 KiB. */
static inline uint64_t scim_pages_spanned(uint64_t addr, uint64_t len)
{
    if (len == 0)
        return 0;
    return scim_vpn(addr + len - 1) - scim_vpn(addr) + 1;
}

#endif
