/* Fault injection rules. Contract in core/inject.h. */
#include "core/inject.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

#define MAX_RULES 64

const char *const scim_inject_kind_names[] = {"inv_completion_lost", "swap_read_error", "page_response_lost",
                                              "prq_burst", NULL};

const scim_param_decl scim_inject_rule_decls[] = {
    {"fault", SCIM_P_ENUM, NULL, NULL, false, 0, 0, scim_inject_kind_names, offsetof(scim_inject_rule, fault),
     "What fails: inv_completion_lost (a device's invalidation completion is lost; the IOMMU times out after "
     "iommu.ats.inv_timeout and the OS resets the device), swap_read_error (a swap-in read fails; the fault that "
     "needed the page fails), page_response_lost (a page group response is lost; the device asks again after "
     "devices.<n>.pri.timeout), prq_burst (phantom page requests fill the IOMMU's page request queue at `at`).",
     NULL},
    {"target", SCIM_P_STRING, "", NULL, false, 0, 0, NULL, offsetof(scim_inject_rule, target),
     "The device it concerns (inv_completion_lost, page_response_lost); empty: any.", NULL},
    {"nth", SCIM_P_U64, "0", "occurrences", false, 0, 0, NULL, offsetof(scim_inject_rule, nth),
     "Fail only the nth occurrence (counted per rule, at its target); 0: use probability.", NULL},
    {"probability", SCIM_P_DOUBLE, "0", NULL, true, 0, 1, NULL, offsetof(scim_inject_rule, probability),
     "Fail each occurrence with this probability (a random stream seeded by the rule's path, inject.<index>).",
     NULL},
    {"limit", SCIM_P_U64, "0", "faults", false, 0, 0, NULL, offsetof(scim_inject_rule, limit),
     "With probability: fail at most this many occurrences (0: no limit).", NULL},
    {"at", SCIM_P_TIME, "0", "ns", false, 0, 0, NULL, offsetof(scim_inject_rule, at),
     "prq_burst: when the phantom page requests arrive.", NULL},
    {"requests", SCIM_P_U64, "0", "requests", false, 0, 0, NULL, offsetof(scim_inject_rule, requests),
     "prq_burst: how many phantom page requests (one descriptor each) arrive at once.", NULL},
};
const size_t scim_inject_rule_decl_count = SCIM_COUNT_OF(scim_inject_rule_decls);

typedef struct rule_state {
    scim_inject_rule r;
    uint64_t seen;   /* occurrences at its target */
    uint64_t fired;
    uint64_t rng;
} rule_state;

struct scim_inject {
    rule_state rules[MAX_RULES];
    size_t n;
    uint64_t fired[SCIM_INJ_KIND_COUNT];
};

static const scim_stat_decl inject_stat_decls[] = {
    {"inv_completion_lost", SCIM_STAT_COUNTER, "count", "Invalidation completions the injector dropped.",
     SCIM_INJ_INV_COMPLETION_LOST * sizeof(uint64_t)},
    {"swap_read_error", SCIM_STAT_COUNTER, "count", "Swap-in reads the injector failed.",
     SCIM_INJ_SWAP_READ_ERROR * sizeof(uint64_t)},
    {"page_response_lost", SCIM_STAT_COUNTER, "count", "Page group responses the injector dropped.",
     SCIM_INJ_PAGE_RESPONSE_LOST * sizeof(uint64_t)},
    {"prq_burst", SCIM_STAT_COUNTER, "count", "Bursts of phantom page requests injected.",
     SCIM_INJ_PRQ_BURST * sizeof(uint64_t)},
};

const scim_stat_decl *const scim_inject_stat_decls = inject_stat_decls;
const size_t scim_inject_stat_decl_count = SCIM_COUNT_OF(inject_stat_decls);

void scim_inject_note(scim_inject *inj, scim_inject_kind kind)
{
    if (inj)
        inj->fired[kind]++;
}

scim_inject *scim_inject_create(const scim_cfg_node *list, uint64_t seed, scim_stats *stats, scim_err *err)
{
    if (!list || scim_cfg_node_count(list) == 0)
        return NULL;
    if (scim_cfg_node_kind(list) != SCIM_CFG_SEQ) {
        scim_cfg_error_at(err, list, SCIM_ECONFIG,
                          "error: inject must be a list of rules, e.g. inject: [{fault: swap_read_error, nth: 1}]");
        return NULL;
    }
    if (scim_cfg_node_count(list) > MAX_RULES) {
        scim_cfg_error_at(err, list, SCIM_ECONFIG, "error: inject has more than %d rules", MAX_RULES);
        return NULL;
    }
    scim_inject *inj = calloc(1, sizeof *inj);
    if (!inj) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    for (size_t i = 0; i < scim_cfg_node_count(list); i++) {
        const scim_cfg_node *item = scim_cfg_seq_item(list, i);
        char where[32];
        snprintf(where, sizeof where, "inject.%zu", i);
        rule_state *s = &inj->rules[inj->n];
        if (scim_cfg_bind(item, where, scim_inject_rule_decls, scim_inject_rule_decl_count, &s->r, NULL, err))
            goto fail;
        bool burst = s->r.fault == SCIM_INJ_PRQ_BURST;
        if (burst ? s->r.requests == 0 : (s->r.nth == 0 && s->r.probability <= 0)) {
            scim_cfg_error_at(err, item, SCIM_ECONFIG,
                              burst ? "error: %s: a prq_burst needs requests > 0 (and `at`)"
                                    : "error: %s: say which occurrences fail: nth: N, or probability: p",
                              where);
            goto fail;
        }
        s->rng = scim_seed_for(seed, where);
        inj->n++;
    }
    if (scim_stats_register(stats, "inject", inject_stat_decls, SCIM_COUNT_OF(inject_stat_decls), inj->fired, err))
        goto fail;
    return inj;
fail:
    free(inj);
    return NULL;
}

void scim_inject_destroy(scim_inject *inj) { free(inj); }

bool scim_inject_fire(scim_inject *inj, scim_inject_kind kind, const char *target)
{
    if (!inj)
        return false;
    bool fire = false;
    for (size_t i = 0; i < inj->n; i++) {
        rule_state *s = &inj->rules[i];
        if (s->r.fault != (int)kind || (s->r.target[0] && (!target || strcmp(s->r.target, target) != 0)))
            continue;
        s->seen++;
        bool f;
        if (s->r.nth)
            f = s->seen == s->r.nth;
        else
            f = (!s->r.limit || s->fired < s->r.limit) &&
                (double)(scim_splitmix64(&s->rng) >> 11) * 0x1p-53 < s->r.probability;
        if (f) {
            s->fired++;
            fire = true;
        }
    }
    if (fire)
        inj->fired[kind]++;
    return fire;
}

size_t scim_inject_rules(const scim_inject *inj, scim_inject_kind kind, const scim_inject_rule **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; inj && i < inj->n && n < max; i++)
        if (inj->rules[i].r.fault == (int)kind)
            out[n++] = &inj->rules[i].r;
    return n;
}
