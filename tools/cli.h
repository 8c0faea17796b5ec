/* Subcommands of the scimitar CLI that live in their own files. */
#ifndef SCIMITAR_TOOLS_CLI_H
#define SCIMITAR_TOOLS_CLI_H

int scim_cli_compare(int argc, char **argv);
/* scimitar validate: reproduce the published figures the defaults rest on. */
int scim_cli_validate(int argc, char **argv);
int scim_cli_sweep(int argc, char **argv);
/* scimitar sample: measured windows of one functional warm-up (sample.c). */
int scim_cli_sample(int argc, char **argv);

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* An option that takes a value, given last without one: the parsers
 * match "OPT VALUE" only when a value follows, so without this the
 * option fell through to "unknown option", which it is not. opts ends
 * with NULL. True (and the message, after `who`) if arg is one of opts. */
static inline bool cli_missing_value(const char *who, const char *arg, const char *const *opts)
{
    for (; *opts; opts++) {
        if (strcmp(arg, *opts) == 0) {
            fprintf(stderr, "%s: %s needs a value\n", who, arg);
            return true;
        }
    }
    return false;
}

#endif
