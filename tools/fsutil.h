/* File-system helpers shared by the CLI's subcommands. */
#ifndef SCIMITAR_TOOLS_FSUTIL_H
#define SCIMITAR_TOOLS_FSUTIL_H

/* mkdir -p; 0 or -1 (errno set). */
int cli_mkdir_p(const char *dir);
/* Write `text` to `path` under a temporary name, then rename, so a reader
 * never sees a partial file; 0 or -1 (errno set, nothing left behind). */
int cli_write_atomic(const char *path, const char *text);
/* The whole file as a NUL-terminated string to free; NULL if it cannot be read. */
char *cli_read_file(const char *path);

#endif
