/* The unmap round: munmap, mprotect, migrate and reclaim (the trace's and
 * kswapd's) all collect the leaves of a range, take some of them into one
 * shootdown round (unmapping them, or for mprotect downgrading them),
 * start the round's shootdown, and continue when it is over. */
#include "os/os_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---------- leaves ---------- */

static int collect_leaf(void *ctx, uint64_t va, uint64_t pa, unsigned shift, unsigned attrs)
{
    leaf_list *l = ctx;
    leaf *n = os_grow(l->v, &l->cap, l->n + 1, sizeof *n, 64);
    if (!n) {
        l->oom = true;
        return 1;
    }
    l->v = n;
    l->v[l->n++] = (leaf){va, pa, attrs, shift};
    return 0;
}

bool os_leaves_in(const process *p, uint64_t start, uint64_t end, leaf_list *out)
{
    memset(out, 0, sizeof *out);
    scim_pgtable_foreach(p->pt, start, end - start, collect_leaf, out);
    return !out->oom;
}

bool os_leaf_movable(const scim_os *os, process *p, const leaf *lf)
{
    return lf->shift == OS_PAGE_SHIFT && !os_pin_count(os, os_leaf_pfn(lf)) && !os_busy_get(p, lf->va);
}

/* ---------- removing a translation ---------- */

void os_unmap_pte(scim_os *os, process *p, sd_op *op, uint64_t va, uint64_t pa, unsigned shift)
{
    if (os->checker)
        scim_obs_stale_page(os->checker, op->checker_id, p->pasid, va, pa, shift);
    os->collect = &op->tables;
    scim_pgtable_unmap(p->pt, va, NULL, NULL);
    os->collect = NULL;
}

/* A process's data page leaves its mapping: its frame is in transit until
 * the round is over. */
static void unmap_leaf(scim_os *os, process *p, sd_op *op, const leaf *lf)
{
    uint64_t pa = lf->pa;
    os_unmap_pte(os, p, op, lf->va, pa, lf->shift);
    unsigned order = os_order(lf->shift);
    os->st.frames_data -= 1ull << order;
    os->st.frames_transit += 1ull << order;
    os_lru_remove(os, os_pfn(pa));
}

/* ---------- the round ---------- */

page_ref *os_round_take(scim_os *os, unmap_round *r, const leaf *lf)
{
    if (!r->op && !(r->op = os_new_op(os, r->p->pasid, r->req, r->done, NULL, &r->idx)))
        return NULL;
    page_ref *pr = os_op_add_page(os, r->op, lf->va, 1ull << lf->shift, os_leaf_pfn(lf));
    if (!pr)
        return NULL;
    if (r->busy != BUSY_NONE && !os_busy_set(os, r->p, lf->va, r->busy))
        return NULL;
    if (!r->keep)
        unmap_leaf(os, r->p, r->op, lf);
    else if (os->checker)
        scim_obs_stale_page(os->checker, r->op->checker_id, r->p->pasid, lf->va, lf->pa,
                            lf->shift);
    return pr;
}

bool os_unmap_range(scim_os *os, unmap_round *r, uint64_t start, uint64_t end, const char *what,
                    os_range_check_fn check, os_leaf_fn fn)
{
    leaf_list leaves;
    if (!os_leaves_in(r->p, start, end, &leaves)) {
        free(leaves.v);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in %s", what);
        return false;
    }
    if (check && !check(os, r, start, end, &leaves)) {
        free(leaves.v);
        return false;
    }
    for (size_t i = 0; i < leaves.n; i++)
        if (!fn(os, r, &leaves.v[i]))
            break;
    free(leaves.v);
    if (!r->op) {
        os_reply(os, r->req, SCIM_RESP_OK);
        return false;
    }
    os_start_shootdown(os, r->idx);
    return true;
}
