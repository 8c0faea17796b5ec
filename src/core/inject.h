/* Fault injection: rules from the configuration's `inject` list say which
 * occurrences of a fault kind fail — the nth one, or each with a
 * probability (a random stream seeded by the rule's path, "inject.2") up
 * to a limit — at a target (a device's name; "" for any). Blocks ask
 * scim_inject_fire() at the point where the fault would happen; with no
 * rules it is one NULL test. The injector changes nothing by itself. */
#ifndef SCIM_CORE_INJECT_H
#define SCIM_CORE_INJECT_H

#include <stdbool.h>

#include "core/config.h"
#include "core/stats.h"

typedef enum scim_inject_kind {
    SCIM_INJ_INV_COMPLETION_LOST, /* a device's invalidation completion never reaches the IOMMU */
    SCIM_INJ_SWAP_READ_ERROR,     /* a swap-in read fails (the data is unreadable) */
    SCIM_INJ_PAGE_RESPONSE_LOST,  /* a page group response never reaches its device */
    SCIM_INJ_PRQ_BURST,           /* phantom page requests fill the IOMMU's queue at a time */
    SCIM_INJ_KIND_COUNT
} scim_inject_kind;

typedef struct scim_inject_rule {
    int fault;               /* scim_inject_kind */
    const char *target;      /* device name; "" = any */
    uint64_t nth;            /* fire on the nth occurrence only (0: use probability) */
    double probability;      /* else fire with this probability ... */
    uint64_t limit;          /* ... at most this many times (0: no limit) */
    scim_time_t at;          /* prq_burst: when */
    uint64_t requests;       /* prq_burst: phantom page requests */
} scim_inject_rule;

/* Keys of an `inject` list entry. */
extern const scim_param_decl scim_inject_rule_decls[];
extern const size_t scim_inject_rule_decl_count;
extern const char *const scim_inject_kind_names[];

typedef struct scim_inject scim_inject;

/* Bind the `inject` list (NULL or absent: no rules; returns NULL and no
 * error then). */
scim_inject *scim_inject_create(const scim_cfg_node *list, uint64_t seed, scim_stats *stats, scim_err *err);
void scim_inject_destroy(scim_inject *inj);
/* One occurrence of `kind` at `target`: true if it must fail. NULL inj: false. */
bool scim_inject_fire(scim_inject *inj, scim_inject_kind kind, const char *target);
/* Count an injection the caller made itself (prq_burst). */
void scim_inject_note(scim_inject *inj, scim_inject_kind kind);
/* Registered as "inject.<kind>" when there are rules. */
extern const scim_stat_decl *const scim_inject_stat_decls;
extern const size_t scim_inject_stat_decl_count;
/* The rules of one kind (prq_burst: scheduled by the IOMMU at build). */
size_t scim_inject_rules(const scim_inject *inj, scim_inject_kind kind, const scim_inject_rule **out, size_t max);

#endif
