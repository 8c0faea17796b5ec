/* The valgrind lackey importer (workload/import.h): the log of
 *     valgrind --tool=lackey --trace-mem=yes --trace-syscalls=yes PROGRAM
 * checked on valgrind 3.19 (Debian 12). Lines it knows:
 *
 *     I  0401ab70,3                       an instruction (address, size)
 *      L 1fff000618,8                     a data load; " S" store, " M" modify
 *     SYSCALL[9738,1](0) sys_read ( 4, 0x1ffeffecc8, 832 ) --> [async] ...
 *     SYSCALL[9738,1](0) ... [async] --> Success(0x340)        (its completion)
 *     SYSCALL[9738,1](3) sys_close ( 4 )[sync] --> Success(0x0)
 *     SYSCALL[9738,1](334) unimplemented (by the kernel) syscall: 334! (ni_syscall)
 *      --> [pre-fail] Failure(0x26)       (that call's result)
 *     ==9738== ...                        valgrind's messages; "==9738== Exit code: 0" ends a whole log
 *
 * The call's name is valgrind's ("sys_pread64", "sys_recvfrom"), its
 * arguments as the wrapper prints them: the buffer in hex, the length in
 * decimal. A call is timed at its first line; a completion line is not a
 * call. Valgrind prints the memory lines and the system calls in the order
 * the program ran them (one thread at a time).
 */
#include "workload/import_internal.h"

#include <math.h>
#include <string.h>

typedef struct lackey {
    scim_imp_parser p;
    bool exit_seen;
} lackey;

static uint64_t now(const lackey *k)
{
    return (uint64_t)floor((double)k->p.c->instrs / k->p.o->ipns) + k->p.o->syscall_ns * k->p.c->syscalls;
}

/* "ADDR,SIZE" after the kind: hex address, decimal size > 0, then nothing. */
static int addr_size(lackey *k, const char *p, uint64_t *addr, uint64_t *size)
{
    const char *s = scim_imp_skip_space(p);
    if (!scim_imp_hex(&s, addr) || *s != ',')
        return scim_imp_error(k->p.l, s, k->p.err, "expected ADDRESS,SIZE (hex address, decimal size) as lackey "
                                                "prints them, e.g. ' L 1fff000618,8'");
    const char *z = ++s;
    if (!scim_imp_dec(&s, size) || !scim_imp_at_end(s))
        return scim_imp_error(k->p.l, z, k->p.err, "expected a decimal size and the end of the line");
    if (*size == 0)
        return scim_imp_error(k->p.l, z, k->p.err, "size must be > 0");
    if (*addr + *size < *addr)
        return scim_imp_error(k->p.l, p, k->p.err, "access wraps around the address space");
    return 0;
}

static int access_line(lackey *k, char kind)
{
    uint64_t addr, size;
    int rc = addr_size(k, k->p.l->line + 3, &addr, &size);
    if (rc)
        return rc;
    k->p.c->loads += kind == 'L';
    k->p.c->stores += kind == 'S';
    k->p.c->modifies += kind == 'M';
    scim_import_access a = {kind, addr, size, now(k)};
    return k->p.sink->access ? k->p.sink->access(k->p.sink->ctx, &a, k->p.err) : 0;
}

/* Skip the character c if it is next. */
static bool punct(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* SYSCALL[PID,TID](NUM) NAME ( ARGS ) ... */
static int syscall_line(lackey *k)
{
    const char *line = k->p.l->line, *p = line + 8;
    uint64_t pid, tid, num;
    /* p stays at the first character that does not fit: the error's column */
    if (!scim_imp_dec(&p, &pid) || !punct(&p, ',') || !scim_imp_dec(&p, &tid) || !punct(&p, ']') ||
        !punct(&p, '(') || !scim_imp_dec(&p, &num) || !punct(&p, ')'))
        return scim_imp_error(k->p.l, p, k->p.err,
                              "expected SYSCALL[PID,TID](NUMBER) as valgrind --trace-syscalls=yes prints it");
    p = scim_imp_skip_space(p);
    if (!strncmp(p, "...", 3))
        return 0; /* the completion of an earlier call */
    const char *name = p;
    while (*p && *p != ' ' && *p != '(' && *p != '\t')
        p++;
    size_t n = (size_t)(p - name);
    if (n == 0)
        return scim_imp_error(k->p.l, name, k->p.err, "expected the system call's name after SYSCALL[...](NUMBER)");
    if (n > 4 && !strncmp(name, "sys_", 4)) {
        name += 4;
        n -= 4;
    }
    const scim_imp_call *c = scim_imp_find_call(name, n);
    int rc = 0;
    if (c) {
        uint64_t addr = 0, len = 0;
        const char *open = scim_imp_skip_space(p), *at = open;
        if (!c->vectored) {
            const char *close = *open == '(' ? strchr(open, ')') : NULL;
            if (!close)
                return scim_imp_error(k->p.l, open, k->p.err, "expected '( ARGUMENTS )' after %.*s", (int)n, name);
            int argno, a = scim_imp_buffer(c, open + 1, close, &addr, &len, &at, &argno);
            if (a != 1)
                return scim_imp_error(k->p.l, at, k->p.err, "%s: argument %d is %s; expected the buffer's address and "
                                      "length as numbers", c->name, argno, a < 0 ? "missing" : "not a number");
        }
        rc = scim_imp_emit_io(c, addr, len, now(k), k->p.sink, k->p.c, k->p.l, at, k->p.err);
    }
    k->p.c->syscalls++;
    return rc;
}

/* "==PID==", "--PID--" or "**PID**": one of valgrind's own messages. */
static bool tool_line(const char *s, const char **rest)
{
    char m = s[0];
    if ((m != '=' && m != '-' && m != '*') || s[1] != m)
        return false;
    s += 2;
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9')
        s++;
    if (s[0] != m || s[1] != m)
        return false;
    *rest = s + 2;
    return true;
}

int scim_imp_parse_lackey(scim_imp_log *l, const scim_import_opts *o, const scim_import_sink *sink,
                          scim_import_counts *c, scim_err *err)
{
    lackey k = {{o, sink, c, l, err}, false};
    int rc;
    while ((rc = scim_imp_log_next(l, err)) == 1) {
        const char *s = l->line, *rest;
        if (s[0] == 'I' && (s[1] == ' ' || s[1] == '\t')) {
            uint64_t addr, size;
            if ((rc = addr_size(&k, s + 1, &addr, &size)) != 0)
                return rc;
            c->instrs++;
        } else if (s[0] == ' ' && (s[1] == 'L' || s[1] == 'S' || s[1] == 'M') && s[2] == ' ') {
            if ((rc = access_line(&k, s[1])) != 0)
                return rc;
        } else if (!strncmp(s, "SYSCALL[", 8)) {
            if ((rc = syscall_line(&k)) != 0)
                return rc;
        } else if (!strncmp(scim_imp_skip_space(s), "--> ", 4)) {
            c->tool_lines++; /* the result of a system call printed on its own line */
        } else if (tool_line(s, &rest)) {
            c->tool_lines++;
            if (s[0] == '=' && !strncmp(scim_imp_skip_space(rest), "Exit code:", 10))
                k.exit_seen = true;
        } else if (*s) {
            if (!c->unknown)
                c->first_unknown = l->lineno;
            c->unknown++;
        }
    }
    if (rc < 0)
        return rc;
    if (l->lineno == 0)
        return scim_err_set(err, SCIM_EPARSE, "%s: error: the log is empty; expected the output of valgrind "
                                              "--tool=lackey --trace-mem=yes --trace-syscalls=yes", l->path);
    if (!k.exit_seen)
        return scim_imp_error(l, NULL, err, "the log ends without valgrind's closing '==PID== Exit code:' line: it "
                                            "is truncated (or not a lackey log); let the program run to its end "
                                            "under valgrind and import the whole log");
    if (!c->syscalls)
        return scim_err_set(err, SCIM_EPARSE, "%s: error: no system calls in the log; run valgrind with "
                                              "--trace-syscalls=yes", l->path);
    if (!(c->loads + c->stores + c->modifies))
        return scim_err_set(err, SCIM_EPARSE, "%s: error: no data accesses in the log; run lackey with "
                                              "--trace-mem=yes", l->path);
    return 0;
}
