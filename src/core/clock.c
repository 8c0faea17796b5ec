/* Clock domains (scimitar/kernel.h): cycles of a frequency as exact
 * picoseconds, apart from the event kernel that schedules them. */
#include "scimitar/kernel.h"

#include "core/common.h"

int scim_clock_init(scim_clock *c, uint64_t hz, scim_err *err)
{
    if (!c)
        return scim_err_set(err, SCIM_EINVAL, "scim_clock_init: the clock is NULL");
    if (hz == 0 || hz > 1000000000000000ull)
        return scim_err_set(err, SCIM_ERANGE, "clock frequency %llu Hz is out of range (1 Hz .. 1 PHz)",
                            (unsigned long long)hz);
    c->hz = hz;
    c->period_fs = (1000000000000000ull + hz / 2) / hz;
    return 0;
}

/* Exact rational arithmetic (n * 10^12 / hz, rounded), so that no number of
 * cycles drifts, whatever the frequency. */
scim_time_t scim_clock_cycles(const scim_clock *c, uint64_t n)
{
    if (!c || !c->hz)
        return 0;
    return (scim_time_t)(((unsigned __int128)n * 1000000000000ull + c->hz / 2) / c->hz);
}

scim_time_t scim_clock_next_edge(const scim_clock *c, scim_time_t t)
{
    if (!c || !c->hz)
        return t;
    uint64_t i = (uint64_t)(((unsigned __int128)t * c->hz) / 1000000000000ull);
    if (i > 0)
        i--;
    for (;;) {
        scim_time_t edge = scim_clock_cycles(c, i);
        if (edge >= t)
            return edge;
        i++;
    }
}
