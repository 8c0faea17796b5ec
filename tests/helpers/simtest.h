/* Shared helpers for the end-to-end tests: temporary directories, trace
 * files, running a simulation from a YAML string, reading a statistic. */
#ifndef SCIM_TEST_SIMTEST_H
#define SCIM_TEST_SIMTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "scimitar/scimitar.h"

/* A fresh temporary directory (removed by tmpdir_remove). */
void tmpdir_make(char *buf, size_t len);
void tmpdir_remove(const char *dir);
/* Write `text` to dir/name; returns the path in a static-per-call buffer
 * the caller copies. */
void write_file(const char *dir, const char *name, const char *text, char *path_out, size_t len);
/* Build and run; on failure fails the test with the simulator's message. */
scim_sim *run_yaml(const char *yaml);
/* Build only (for error tests): returns the status and leaves the message. */
int build_yaml(const char *yaml, char *msg, size_t len);
double stat_of(scim_sim *sim, const char *name);
/* Read a whole file into a malloc'ed NUL-terminated buffer (NULL if absent). */
char *slurp(const char *path, size_t *len);
/* Run a shell command; returns its exit status. */
int run_cmd(const char *cmd);

#endif
