/* The simulation's parts, one job per file:
 *   registry.c  the component registry: one entry per kind of component
 *               (config section, parameter and statistic tables, create,
 *               wire, start, finished, describe, oldest, caches, destroy)
 *   build.c     the builder: binds the configuration and walks the registry
 *   run.c       the run loop: deadlock report and watchdog
 *   summary.c   the human summary of a run
 *   doc.c       docs/config.md and docs/stats.md from the registry
 *   sim.c       the public API (include/scimitar/scimitar.h)
 *   checker.c   the safety checker (an observer)
 */
#ifndef SCIM_SIM_INTERNAL_H
#define SCIM_SIM_INTERNAL_H

#include "core/config.h"
#include "core/fabric.h"
#include "core/inject.h"
#include "core/stats.h"
#include "driver/scheme.h"
#include "iommu/iommu.h"
#include "mmu/memctl.h"
#include "mmu/cpu.h"
#include "mmu/physmem.h"
#include "os/os.h"
#include "sim/checker.h"
#include "sim/sim.h"

/* Statistic tables of a kind, for docs/stats.md. */
typedef struct scim_stat_doc {
    const char *pattern;          /* "<device>.iotlb" */
    const scim_stat_decl *decls;
    const size_t *count;
} scim_stat_doc;

/* A parameter table of a kind, for docs/config.md. */
typedef struct scim_param_doc {
    const char *title;            /* NULL: the kind's own table */
    const char *prefix;           /* "devices.<name>." */
    const scim_param_decl *decls;
    const size_t *count;
} scim_param_doc;

typedef struct scim_component_kind {
    const char *section;          /* config key: "memory", "devices", ... */
    const char *title;            /* heading in the generated docs */
    const char *doc;              /* a paragraph for the docs (may be NULL) */
    bool named;                   /* a map of named instances (devices, cpus, processes) */
    /* named kinds: a name the instance may not take (checked before its
     * section is bound), and the message saying why (one %s: the name) */
    bool (*name_free)(scim_sim *sim, const char *name);
    const char *bad_name;
    const scim_param_doc *params; /* NULL-terminated; the first one is bound to the section */
    size_t params_size;           /* bytes of the bound parameter struct */
    /* optional: the table to bind the section with (e.g. the OS's, with a
     * fault profile's defaults), written into out */
    void (*adjust_decls)(const scim_cfg_node *section, scim_param_decl *out);
    const scim_stat_doc *stats;   /* NULL-terminated */
    /* Building, in registry order: create every instance, then wire them,
     * then (after the fabric is finalized) start them. */
    int (*create)(scim_sim *sim, const char *name, void *params, const scim_cfg_node *node, void **self);
    int (*wire)(scim_sim *sim, void *self, void *params, const scim_cfg_node *node);
    int (*start)(scim_sim *sim, void *self, const scim_cfg_node *node);
    /* Running: deadlock and watchdog reports. */
    bool (*finished)(const void *self);
    void (*describe)(const void *self, char *buf, size_t len);
    bool (*oldest)(const void *self, scim_time_t *since, char *what, size_t len);
    /* Progress: bytes of the agent's trace file read, of its size. */
    void (*position)(const void *self, uint64_t *done, uint64_t *total);
    /* An agent's trace engine (devices, CPUs; else NULL): sample.c */
    scim_replay *(*replay)(void *self);
    const scim_port *(*port)(const void *self);
    /* The checker: every translation cache. */
    size_t (*caches)(const void *self, const scim_tlb **out, const char **names, size_t max);
    void (*destroy)(void *self);
} scim_component_kind;

extern const scim_component_kind *const scim_registry[];
/* vms.c: the VMs' kind, and the checks of their processes, devices and cores */
extern const scim_component_kind scim_vms_kind;
bool scim_sim_has_vms(const scim_sim *sim);
extern const size_t scim_registry_count;


/* One built instance. */
typedef struct scim_component {
    const scim_component_kind *kind;
    char name[48];
    void *self;
    void *params;
    const scim_cfg_node *node;
} scim_component;

typedef struct scim_top_params {
    uint64_t seed;
    int scheme;                  /* index into scim_schemes */
    int backend;
    scim_time_t quantum;
    scim_time_t max_time;
    scim_time_t watchdog;
    bool check;
    bool fast_path;
    uint64_t warmup;             /* records of each agent run functionally first (warm.c) */
    uint64_t records;            /* records of each agent replayed in all (0: every one) */
    scim_time_t until;           /* and only those its trace issues before this time (0: all) */
    scim_time_t warmup_until;    /* or: every record issued before this time (warm.c) */
    const scim_cfg_node *sections; /* unused: the kinds bind their own sections */
} scim_top_params;

typedef struct sim_counters {
    uint64_t time_ps;
    uint64_t events;
    uint64_t warm_records; /* sim.warmup: records run functionally */
    uint64_t warm_faults;  /* pages they made present */
    uint64_t warm_errors;  /* accesses the timed run would have failed */
} sim_counters;

struct scim_sim {
    scim_err err;
    scim_cfg *cfg;
    char *config_dir;
    bool built, ran, finished;
    scim_top_params top;
    scim_isa isa;                /* system.isa */
    const scim_pt_format *paging; /* system.paging; NULL: the ISA's 4-level mode */
    const scim_scheme *scheme;
    void *scheme_state;
    scim_kernel *k;
    scim_stats *stats;
    /* the blocks other blocks are wired to */
    scim_fabric *fab;
    const scim_fabric_params *fab_p;
    scim_physmem *pm;
    scim_memctl *mc;
    scim_os *os;
    scim_iommu *io;
    scim_checker *chk;
    scim_inject *inj;      /* the `inject` rules, or NULL */
    scim_component *comps;
    size_t n_comps, cap_comps;
    sim_counters counters;
    bool warm_oom; /* warm.c: a shadow copy could not take an update */
    bool warm_s2_timers; /* warm.c: a VM reclaims stage-2 pages on a timer */
    scim_progress_fn progress;
    void *progress_ctx;
    /* sample.c: points of the warm-up by time (scim_sim_set_warm_points) */
    scim_time_t *warm_points;
    size_t n_warm_points, next_warm_point;
    scim_warm_point_fn warm_point_fn;
    void *warm_point_ctx;
    bool watchdog_fired;
    bool no_fast;          /* the run met a fast-path conflict and is redone without it, or is a window */
    scim_fast_path_use fast_use; /* what scim_sim_fast_path says */
    char *fast_conflict;         /* what scim_sim_fast_path_conflict says (owned) */
    void **owned;          /* what the builder allocated for the components (paths, lists) */
    /* the host API (host.c): device handles, OS calls in flight */
    struct scim_dev *host_devs;
    struct scim_host_os_call *host_os_calls;
    size_t n_owned, cap_owned;
};

/* build.c */
extern const scim_param_decl scim_top_param_decls[];
extern const size_t scim_top_param_decl_count;
extern const scim_stat_decl scim_sim_stat_decls[];
extern const size_t scim_sim_stat_decl_count;
int scim_sim_fail(scim_sim *sim, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* A path from the configuration, relative to its file's directory. */
char *scim_sim_resolve_path(const scim_sim *sim, const char *path);
/* Keep p until the simulation is destroyed; NULL (and p freed) if out of
 * host memory. */
void *scim_sim_own(scim_sim *sim, void *p);
bool scim_sim_node_name_ok(const char *name);
/* warm.c: sim.warmup, after wiring and before the agents start. */
int scim_sim_warm_up(scim_sim *sim);
/* sample.c: the warm-up is at or past the next point's time (every
 * agent's next record at or after it, or none left): call the host at it
 * and at each further point it has passed. *stop: a host ended the
 * warm-up there (sim.warmup_until and sim.until are now the window's, the
 * records handed back); then the warm-up finishes as a run warmed up to
 * that time would. 0, or an error (sim->err set). */
int scim_sim_warm_points_due(scim_sim *sim, scim_time_t next_at, bool any_left, bool *stop);
/* ... and that the points are ascending and inside the warm-up. */
int scim_sim_check_warm_points(scim_sim *sim);
/* The instances of a kind (by section), in configuration order. */
scim_component *scim_sim_components(scim_sim *sim, const char *section, size_t *n);
void scim_sim_destroy_components(scim_sim *sim);
/* host.c */
void scim_sim_host_free(scim_sim *sim);
/* vms.c */
int scim_sim_guest_process(scim_sim *sim, const char *name, const scim_process_params *pp,
                           const scim_cfg_node *node);
int scim_sim_check_device_vm(scim_sim *sim, const char *where, const scim_cfg_node *node,
                             const struct scim_device_params *p);
/* run.c */
int scim_sim_finish_run(scim_sim *sim, int rc, bool bounded);
void scim_sim_sync_counters(scim_sim *sim);
void scim_sim_arm_poll(scim_sim *sim);

#endif
