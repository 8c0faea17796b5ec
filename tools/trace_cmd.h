#ifndef SCIM_TOOLS_TRACE_CMD_H
#define SCIM_TOOLS_TRACE_CMD_H
/* `scimitar trace ...`; argv[0] is "trace". Returns the exit status. */
int scim_cli_trace(int argc, char **argv);
/* `scimitar trace gen ...` (tools/trace_gen.c); argv[0] is "gen". */
int scim_cli_trace_gen(int argc, char **argv);
#endif
