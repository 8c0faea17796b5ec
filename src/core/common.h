/* Internal helpers shared by every layer: recording errors. The public
 * types (time, status codes, scim_err) are in include/scimitar/scimitar.h. */
#ifndef SCIM_CORE_COMMON_H
#define SCIM_CORE_COMMON_H

#include <stdarg.h>

#include "scimitar/scimitar.h"

#define SCIM_COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

#ifdef __cplusplus
extern "C" {
#endif

/** Record an error (if none yet) and return `code`. `err` may be NULL. */
int scim_err_set(scim_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int scim_err_vset(scim_err *err, int code, const char *fmt, va_list ap);

/* A time in ps for people: "812 ps", "1.3 ns", "4.20 us", "3.100 ms". */
void scim_fmt_time(double ps, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
