/* Subcommands of the scimitar CLI that live in their own files. */
#ifndef SCIMITAR_TOOLS_CLI_H
#define SCIMITAR_TOOLS_CLI_H

int scim_cli_compare(int argc, char **argv);
/* scimitar validate: reproduce the published figures the defaults rest on. */
int scim_cli_validate(int argc, char **argv);
int scim_cli_sweep(int argc, char **argv);

#endif
