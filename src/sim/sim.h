/* The simulation's internal entry points used by the CLI (documentation
 * generated from the declaration tables; the resolved configuration). The
 * public API is include/scimitar/scimitar.h. */
#ifndef SCIM_SIM_SIM_H
#define SCIM_SIM_SIM_H

#include <stdio.h>

#include "core/config.h"
#include "core/stats.h"
#include "scimitar/kernel.h"
#include "scimitar/scimitar.h"

/* Markdown references generated from the declaration tables
 * (docs/config.md and docs/stats.md are checked against these). */
int scim_doc_config(FILE *out);
int scim_doc_stats(FILE *out);

#endif
