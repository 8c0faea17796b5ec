#ifndef SCIM_TOOLS_TRACE_CMD_H
#define SCIM_TOOLS_TRACE_CMD_H
#include <stdbool.h>
#include <stdio.h>
/* `scimitar trace ...`; argv[0] is "trace". Returns the exit status. */
int scim_cli_trace(int argc, char **argv);
/* `scimitar trace gen ...` (tools/trace_gen.c); argv[0] is "gen". */
int scim_cli_trace_gen(int argc, char **argv);
/* `scimitar trace import ...` (tools/trace_import.c); argv[0] is "import". */
int scim_cli_trace_import(int argc, char **argv);
/* `scimitar trace locality ...` (tools/trace_locality.c); argv[0] is "locality". */
int scim_cli_trace_locality(int argc, char **argv);
/* The end of an option loop: an unknown option, or a positional argument
 * when *slot is already set, is a usage error (message and usage on
 * stderr; returns 2); otherwise a fills *slot (returns 0). */
int scim_cli_positional(const char *cmd, const char *a, bool value_follows, const char **slot,
                        void (*print_usage)(FILE *));
/* Warnings about a log's skipped lines and calls (stderr). */
struct scim_import_counts;
void scim_cli_import_warnings(const char *log, const struct scim_import_counts *c);
#endif
