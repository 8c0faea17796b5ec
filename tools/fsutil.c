/* File-system helpers (fsutil.h). */
#include "fsutil.h"

#include <stdbool.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_mkdir_p(const char *dir)
{
    char buf[1024];
    if (strlen(dir) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

int cli_write_atomic(const char *path, const char *text)
{
    char tmp[1200];
    if (strlen(path) + 5 > sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    fputs(text, f);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

char *cli_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *b = malloc(cap);
    while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 < cap)
            continue;
        char *nb = realloc(b, cap *= 2);
        if (!nb)
            free(b);
        b = nb;
    }
    /* a read error (a directory: EISDIR) is no file, not a short one */
    if (ferror(f)) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b)
        b[n] = '\0';
    return b;
}

/* Can files be created in the existing directory `dir`? errno set if not. */
static bool takes_files(const char *dir)
{
    char probe[1200];
    if (snprintf(probe, sizeof probe, "%s/.scimitar-probe-XXXXXX", dir) >= (int)sizeof probe) {
        errno = ENAMETOOLONG;
        return false;
    }
    int fd = mkstemp(probe);
    if (fd < 0)
        return false;
    close(fd);
    unlink(probe);
    return true;
}

/* The deepest existing ancestor of path (path itself if it exists), in
 * buf; false (errno set) when a component is not a directory or the name
 * is too long. */
static bool existing_ancestor(const char *path, char *buf, size_t len, struct stat *sb)
{
    if (snprintf(buf, len, "%s", path) >= (int)len) {
        errno = ENAMETOOLONG;
        return false;
    }
    for (;;) {
        if (stat(buf, sb) == 0)
            return true;
        /* ENOTDIR: a component is a file; going up finds it, so the
         * message can name it */
        if (errno != ENOENT && errno != ENOTDIR)
            return false;
        char *slash = strrchr(buf, '/');
        while (slash && slash > buf && slash[1] == '\0') { /* trailing slashes */
            *slash = '\0';
            slash = strrchr(buf, '/');
        }
        if (!slash) {
            snprintf(buf, len, ".");
        } else if (slash == buf) {
            buf[1] = '\0';
        } else {
            *slash = '\0';
        }
    }
}

int cli_check_out_dir(const char *dir, char *why, size_t len)
{
    char anc[1024];
    struct stat sb;
    if (!existing_ancestor(dir, anc, sizeof anc, &sb)) {
        snprintf(why, len, "cannot create output directory %s: %s; give a path whose every parent is a directory",
                 dir, strerror(errno));
        return -1;
    }
    bool exists = strcmp(anc, dir) == 0;
    if (!S_ISDIR(sb.st_mode)) {
        if (exists)
            snprintf(why, len, "output directory %s is a file, not a directory; give another --out DIR or remove the "
                               "file", dir);
        else
            snprintf(why, len, "cannot create output directory %s: %s is a file, not a directory; give another --out "
                               "DIR", dir, anc);
        return -1;
    }
    if (!takes_files(anc)) {
        snprintf(why, len, "cannot write in %s%s%s: %s; give an --out DIR you can write in, or fix its permissions",
                 anc, exists ? "" : " to create ", exists ? "" : dir, strerror(errno));
        return -1;
    }
    return 0;
}

int cli_check_out_file(const char *path, char *why, size_t len)
{
    if (strcmp(path, "-") == 0)
        return 0;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(why, len, "output %s is a directory; give a file name (-o DIR/NAME)", path);
        return -1;
    }
    /* Outputs are written to PATH.tmp.PID and renamed onto PATH: a device
     * (-o /dev/full, -o /dev/stdout), a pipe or a symbolic link in its
     * place would be replaced by a regular file, not written to (as root,
     * /dev/full once became a 390 KB file). Only a regular file or a new
     * name is an output. */
    if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        snprintf(why, len, "output %s is %s, which writing would replace by a regular file; give a new file name, "
                           "or - for the standard output",
                 path, S_ISLNK(sb.st_mode) ? "a symbolic link" : S_ISFIFO(sb.st_mode) ? "a pipe"
                                           : S_ISSOCK(sb.st_mode)  ? "a socket" : "a device");
        return -1;
    }
    char dir[1024];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(why, len, "cannot create %s: %s %s; create the directory first or give another path", path, dir,
                 stat(dir, &sb) == 0 ? "is not a directory" : "does not exist");
        return -1;
    }
    if (!takes_files(dir)) {
        snprintf(why, len, "cannot create %s: %s: %s; give a path you can write in, or fix its permissions", path,
                 dir, strerror(errno));
        return -1;
    }
    return 0;
}

void cli_config_stem(const char *path, char *out, size_t len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, len, "%s", base);
    char *dot = strrchr(out, '.');
    if (dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0))
        *dot = '\0';
}
