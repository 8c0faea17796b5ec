/* The strace importer (workload/import.h): the log of
 *     strace -f -tt -e trace=read,write,... -e raw=all -o LOG PROGRAM
 * checked on strace 6.1 (Debian 12). Lines it knows:
 *
 *     12833 21:43:10.475868 write(0x3, 0x564688a34220, 0x1388) = 0x1388
 *     13183 21:43:17.510965 read(0x5, 0x560cf02b5060, 0x64 <unfinished ...>
 *     13183 21:43:17.511000 <... read resumed>) = 0x64
 *     [pid 12843] 21:43:10.576771 write(0x1, 0x55bf37082c50, 0x3) = 0x3   (strace's stderr)
 *     12833 21:43:10.477699 +++ exited with 0 +++                        (also "+++ killed by")
 *     12842 21:43:10.578945 --- SIGCHLD {...} ---
 *     strace: Process 12843 attached
 *
 * The PID is there with -f (none for one process); the time is -tt's
 * HH:MM:SS.micro (a day boundary is crossed forward), -ttt's seconds since
 * the epoch, or -t's HH:MM:SS. -e raw=all prints every argument as a number
 * at the call's entry; an unfinished call whose buffer or length only comes
 * with its "resumed" line is completed from it. A call's time is its entry
 * time less the log's first time, made non-decreasing in log order. The log
 * must end with a "+++ exited/killed +++" line.
 */
#include "workload/import_internal.h"

#include <stdlib.h>
#include <string.h>

#define DAY_NS (86400ull * 1000000000ull)

typedef struct pending {
    uint64_t pid, t;
    const scim_imp_call *call;
    char *args; /* the arguments printed so far */
} pending;

typedef struct strace {
    scim_imp_parser p;
    bool have_t0, clock_form; /* clock_form: HH:MM:SS (wraps at midnight) */
    uint64_t t0, prev_raw, day, last_t;
    pending *pend;
    size_t n_pend, cap_pend;
} strace;

/* HH:MM:SS[.frac] or SECONDS.frac -> ns. */
static bool timestamp(const char **p, uint64_t *ns, bool *clock)
{
    const char *s = *p;
    uint64_t a, b, sec;
    if (!scim_imp_dec(&s, &a))
        return false;
    *clock = *s == ':';
    if (*clock) {
        s++;
        if (!scim_imp_dec(&s, &b) || *s++ != ':' || !scim_imp_dec(&s, &sec) || b > 59 || sec > 60 || a > 23)
            return false;
        sec += a * 3600 + b * 60;
    } else {
        sec = a;
        if (*s != '.')
            return false;
    }
    uint64_t frac = 0;
    if (*s == '.') {
        s++;
        int digits = 0;
        while (*s >= '0' && *s <= '9') {
            if (digits < 9)
                frac = frac * 10 + (uint64_t)(*s - '0');
            digits++;
            s++;
        }
        if (!digits)
            return false;
        for (; digits < 9; digits++)
            frac *= 10;
    }
    if (*s != ' ' || sec > UINT64_MAX / 1000000000ull - 1)
        return false;
    *ns = sec * 1000000000ull + frac;
    *p = s + 1;
    return true;
}

static uint64_t rel_time(strace *k, uint64_t raw)
{
    if (!k->have_t0) {
        k->have_t0 = true;
        k->t0 = k->prev_raw = raw;
    }
    if (k->clock_form && raw + DAY_NS / 2 < k->prev_raw)
        k->day++;
    k->prev_raw = raw;
    uint64_t t = raw + k->day * DAY_NS;
    return t >= k->t0 ? t - k->t0 : 0;
}

/* Emit the call once both its buffer and length are known. Returns 1 if it
 * was emitted, 0 if an argument is still missing, < 0 on error. */
/* Emit the call once both its buffer and length are known. Returns 1 if it
 * was emitted, 0 if an argument is still missing, < 0 on error. `in_line`:
 * args point into the current line (errors get a column). */
static int try_emit(strace *k, const scim_imp_call *c, const char *args, const char *end, bool final, uint64_t t,
                    bool skip, bool in_line)
{
    uint64_t addr = 0, len = 0;
    if (!c->vectored) {
        const char *at;
        int argno, a = scim_imp_buffer(c, args, end, &addr, &len, &at, &argno);
        if (a < 0 && !final)
            return 0;
        if (a == 0)
            return scim_imp_error(k->p.l, in_line ? at : NULL, k->p.err, "%s: argument %d is not a number; capture "
                                  "with strace -e raw=all so that buffers show as addresses", c->name, argno);
        if (a < 0)
            return scim_imp_error(k->p.l, in_line ? end : NULL, k->p.err, "%s: argument %d is missing", c->name, argno);
    }
    if (skip) {
        k->p.c->skipped_pid += !c->vectored;
        return 1;
    }
    if (t < k->last_t)
        t = k->last_t;
    k->last_t = t;
    int rc = scim_imp_emit_io(c, addr, len, t, k->p.sink, k->p.c, k->p.l, NULL, k->p.err);
    return rc < 0 ? rc : 1;
}

static pending *find_pending(strace *k, uint64_t pid)
{
    for (size_t i = 0; i < k->n_pend; i++)
        if (k->pend[i].pid == pid)
            return &k->pend[i];
    return NULL;
}

static void drop_pending(strace *k, pending *p)
{
    free(p->args);
    *p = k->pend[--k->n_pend];
}

static int add_pending(strace *k, uint64_t pid, uint64_t t, const scim_imp_call *c, const char *args, size_t n)
{
    pending *old = find_pending(k, pid);
    if (old)
        drop_pending(k, old);
    if (k->n_pend == k->cap_pend) {
        size_t cap = k->cap_pend ? 2 * k->cap_pend : 8;
        pending *v = realloc(k->pend, cap * sizeof *v);
        if (!v)
            return scim_err_set(k->p.err, SCIM_ENOMEM, "out of host memory");
        k->pend = v;
        k->cap_pend = cap;
    }
    char *a = malloc(n + 1);
    if (!a)
        return scim_err_set(k->p.err, SCIM_ENOMEM, "out of host memory");
    memcpy(a, args, n);
    a[n] = '\0';
    k->pend[k->n_pend++] = (pending){pid, t, c, a};
    return 0;
}

/* The ')' that closes the arguments: the one before " = RET" (raw
 * arguments hold no parentheses; a result may: "= -1 EBADF (Bad file
 * descriptor)"). */
static const char *args_end(const char *args)
{
    const char *e = strstr(args, ") = ");
    return e ? e : strchr(args, ')');
}

/* NAME(ARGS) = RET  or  NAME(ARGS <unfinished ...> */
static int call_line(strace *k, const char *s, uint64_t pid, uint64_t t, bool skip)
{
    const char *name = s;
    while ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '?')
        s++;
    size_t n = (size_t)(s - name);
    k->p.c->syscalls++;
    const scim_imp_call *c = scim_imp_find_call(name, n);
    if (!c)
        return 0;
    const char *args = s + 1, *end = strstr(args, " <unfinished ...>");
    bool unfinished = end != NULL;
    if (!end)
        end = args_end(args);
    if (!end)
        return scim_imp_error(k->p.l, args, k->p.err, "%.*s: expected ')' or ' <unfinished ...>' after the arguments",
                              (int)n, name);
    int rc = try_emit(k, c, args, end, !unfinished, t, skip, true);
    if (rc == 0)
        rc = add_pending(k, pid, t, c, args, (size_t)(end - args));
    return rc < 0 ? rc : 0;
}

/* <... NAME resumed>REST) = RET */
static int resumed_line(strace *k, const char *s, uint64_t pid, bool skip)
{
    const char *name = s + 5, *gt = strstr(name, " resumed>");
    if (!gt)
        return scim_imp_error(k->p.l, s, k->p.err, "expected '<... NAME resumed>'");
    pending *p = find_pending(k, pid);
    if (!p)
        return 0; /* its start was complete (or not an I/O call) */
    if (strlen(p->call->name) != (size_t)(gt - name) || memcmp(p->call->name, name, (size_t)(gt - name)))
        return scim_imp_error(k->p.l, name, k->p.err, "'%.*s resumed', but process %llu's unfinished call is %s",
                              (int)(gt - name), name, (unsigned long long)pid, p->call->name);
    const char *rest = gt + 9, *close = args_end(rest);
    if (!close)
        return scim_imp_error(k->p.l, rest, k->p.err, "expected the rest of the arguments and ')'");
    size_t a = strlen(p->args), b = (size_t)(close - rest);
    char *all = malloc(a + b + 1);
    if (!all)
        return scim_err_set(k->p.err, SCIM_ENOMEM, "out of host memory");
    memcpy(all, p->args, a);
    memcpy(all + a, rest, b);
    all[a + b] = '\0';
    int rc = try_emit(k, p->call, all, all + a + b, true, p->t, skip, false);
    free(all);
    drop_pending(k, p);
    return rc < 0 ? rc : 0;
}

/* "+++ exited with N +++", "+++ killed by SIG +++" (a process's end) or
 * "--- SIGNAL {...} ---". */
static int tool_line(strace *k, const char *s, bool *ends)
{
    k->p.c->tool_lines++;
    *ends = !strncmp(s, "+++ exited with", 15) || !strncmp(s, "+++ killed by", 13);
    return 0;
}

static int parse_line(strace *k, bool *ends)
{
    const char *line = k->p.l->line, *s = line;
    *ends = false;
    if (!strncmp(s, "strace: ", 8)) {
        k->p.c->tool_lines++;
        return 0;
    }
    uint64_t pid = 0, raw;
    bool have_pid = false, clock;
    if (!strncmp(s, "[pid ", 5)) {
        s += 5;
        s = scim_imp_skip_space(s);
        if (!scim_imp_dec(&s, &pid) || *s != ']')
            return scim_imp_error(k->p.l, s, k->p.err, "expected '[pid N]'");
        s = scim_imp_skip_space(s + 1);
        have_pid = true;
    } else {
        const char *q = s;
        uint64_t v;
        if (scim_imp_dec(&q, &v) && *q == ' ') {
            pid = v;
            have_pid = true;
            s = scim_imp_skip_space(q);
        }
    }
    if (!strncmp(s, "+++ ", 4) || !strncmp(s, "--- ", 4))
        return tool_line(k, s, ends);
    const char *ts = s;
    if (!timestamp(&s, &raw, &clock)) {
        const char *q = ts;
        while ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_')
            q++;
        if (q > ts && *q == '(')
            return scim_imp_error(k->p.l, ts, k->p.err, "a system call without a timestamp; capture with strace -tt "
                                                    "(or -ttt)");
        if (!*ts)
            return 0;
        if (!k->p.c->unknown)
            k->p.c->first_unknown = k->p.l->lineno;
        k->p.c->unknown++;
        return 0;
    }
    if (!k->have_t0)
        k->clock_form = clock;
    uint64_t t = rel_time(k, raw);
    bool skip = have_pid && k->p.o->pid >= 0 && pid != (uint64_t)k->p.o->pid;
    if (!strncmp(s, "+++ ", 4) || !strncmp(s, "--- ", 4))
        return tool_line(k, s, ends);
    if (!strncmp(s, "<... ", 5))
        return resumed_line(k, s, pid, skip);
    const char *q = s;
    while ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' || *q == '?')
        q++;
    if (q > s && *q == '(')
        return call_line(k, s, pid, t, skip);
    if (!k->p.c->unknown)
        k->p.c->first_unknown = k->p.l->lineno;
    k->p.c->unknown++;
    return 0;
}

int scim_imp_parse_strace(scim_imp_log *l, const scim_import_opts *o, const scim_import_sink *sink,
                          scim_import_counts *c, scim_err *err)
{
    strace k = {.p = {o, sink, c, l, err}};
    bool ends = false;
    int rc;
    while ((rc = scim_imp_log_next(l, err)) == 1) {
        bool e;
        if ((rc = parse_line(&k, &e)) != 0)
            break;
        if (l->line[0])
            ends = e;
    }
    for (size_t i = 0; i < k.n_pend; i++)
        free(k.pend[i].args);
    free(k.pend);
    if (rc < 0)
        return rc;
    if (l->lineno == 0)
        return scim_err_set(err, SCIM_EPARSE, "%s: error: the log is empty; expected the output of strace -f -tt "
                                              "-e raw=all -o LOG", l->path);
    if (!ends)
        return scim_imp_error(l, NULL, err, "the log ends without strace's '+++ exited with N +++' (or '+++ killed "
                                            "by') line: it is truncated; let the program run to its end under "
                                            "strace and import the whole log");
    return 0;
}
