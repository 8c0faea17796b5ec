/* File-system helpers shared by the CLI's subcommands. */
#ifndef SCIMITAR_TOOLS_FSUTIL_H
#define SCIMITAR_TOOLS_FSUTIL_H

#include <stddef.h>

/* mkdir -p; 0 or -1 (errno set). */
int cli_mkdir_p(const char *dir);
/* Write `text` to `path` under a temporary name, then rename, so a reader
 * never sees a partial file; 0 or -1 (errno set, nothing left behind). */
int cli_write_atomic(const char *path, const char *text);
/* Before any simulation: can `dir` take a run's output files? It must be
 * a directory that files can be created in (tried: a probe file is made
 * and removed, so it holds for root and read-only mounts too), or not
 * exist yet below such a directory (nothing is created now). 0, or -1
 * with "DIR: what is wrong; how to fix" in why. */
int cli_check_out_dir(const char *dir, char *why, size_t len);
/* The same for an output file: a new name or a regular file (not a
 * directory, device, pipe or symbolic link, which the rename into place
 * would replace), and its directory exists and takes files. "-" (stdout)
 * is always fine. */
int cli_check_out_file(const char *path, char *why, size_t len);
/* Strip directory and a .yaml/.yml suffix: configs/default.yaml -> default
 * (the default output directory out/<stem>). */
void cli_config_stem(const char *path, char *out, size_t len);
/* The whole file as a NUL-terminated string to free; NULL if it cannot be read. */
char *cli_read_file(const char *path);

#endif
