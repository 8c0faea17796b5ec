/* scimitar — common types shared by every public header.
 *
 * Conventions (after sqlite.h / zlib.h):
 *   - functions return 0 for success, a negative SCIM_E* code for an error,
 *     and a positive value for a normal-but-special outcome (e.g. a TLB hit);
 *   - every fallible function takes a `scim_err *` (may be NULL) that receives
 *     a human-readable message saying what went wrong, where, and how to fix it;
 *   - simulated time is an unsigned 64-bit count of picoseconds.
 */
#ifndef SCIMITAR_COMMON_H
#define SCIMITAR_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SCIM_VERSION_MAJOR 0
#define SCIM_VERSION_MINOR 1
#define SCIM_VERSION_PATCH 0
#define SCIM_VERSION_STRING "0.1.0"
#define SCIM_VERSION_NUMBER (SCIM_VERSION_MAJOR * 10000 + SCIM_VERSION_MINOR * 100 + SCIM_VERSION_PATCH)

/** Run-time version, to compare with SCIM_VERSION_NUMBER at compile time. */
int scim_version_number(void);
const char *scim_version_string(void);

/** Simulated time in picoseconds. 2^64 ps is about 213 days. */
typedef uint64_t scim_time_t;
#define SCIM_TIME_MAX UINT64_MAX
#define SCIM_PS(x) ((scim_time_t)(x))
#define SCIM_NS(x) ((scim_time_t)(x) * 1000u)
#define SCIM_US(x) ((scim_time_t)(x) * 1000000u)
#define SCIM_MS(x) ((scim_time_t)(x) * 1000000000u)

/** Error codes. 0 is success; errors are negative. */
enum scim_status {
    SCIM_OK = 0,
    SCIM_ENOMEM = -1,     /* host allocation failed */
    SCIM_EIO = -2,        /* host file I/O failed */
    SCIM_EPARSE = -3,     /* malformed input (YAML, trace) */
    SCIM_ECONFIG = -4,    /* well-formed but invalid configuration */
    SCIM_ERANGE = -5,     /* value out of range */
    SCIM_ESTATE = -6,     /* call not valid in the current state */
    SCIM_EINVARIANT = -7, /* the safety checker found a violation */
    SCIM_ESYSTEMC = -8,   /* the SystemC kernel reported an error */
    SCIM_EDEADLOCK = -9,  /* watchdog: no progress */
    SCIM_ENOENT = -10,    /* no such thing (file, key, mapping) */
    SCIM_EEXIST = -11,    /* already exists (mapping, name) */
    SCIM_EINVAL = -12     /* invalid argument */
};

/** Short name of a status code ("SCIM_ECONFIG"). */
const char *scim_status_name(int status);

/** Error report: the first error wins, later ones are ignored until reset. */
typedef struct scim_err {
    int code;        /* 0 while no error has been recorded */
    char msg[1024];  /* "file:line:col: what; expected ...; fix: ..." */
} scim_err;

/** Clear an error report. */
void scim_err_clear(scim_err *err);

/** Record an error (if none yet) and return `code`. `err` may be NULL. */
int scim_err_set(scim_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int scim_err_vset(scim_err *err, int code, const char *fmt, va_list ap);

#ifdef __cplusplus
}
#endif
#endif
