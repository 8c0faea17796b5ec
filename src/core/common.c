#include "core/common.h"

#include <stdio.h>
#include <string.h>

int scim_version_number(void) { return SCIM_VERSION_NUMBER; }
const char *scim_version_string(void) { return SCIM_VERSION_STRING; }

const char *scim_status_name(int status)
{
    switch (status) {
    case SCIM_OK: return "SCIM_OK";
    case SCIM_ENOMEM: return "SCIM_ENOMEM";
    case SCIM_EIO: return "SCIM_EIO";
    case SCIM_EPARSE: return "SCIM_EPARSE";
    case SCIM_ECONFIG: return "SCIM_ECONFIG";
    case SCIM_ERANGE: return "SCIM_ERANGE";
    case SCIM_ESTATE: return "SCIM_ESTATE";
    case SCIM_EINVARIANT: return "SCIM_EINVARIANT";
    case SCIM_ESYSTEMC: return "SCIM_ESYSTEMC";
    case SCIM_EDEADLOCK: return "SCIM_EDEADLOCK";
    case SCIM_ENOENT: return "SCIM_ENOENT";
    case SCIM_EEXIST: return "SCIM_EEXIST";
    case SCIM_EINVAL: return "SCIM_EINVAL";
    default: return status > 0 ? "SCIM_POSITIVE" : "SCIM_EUNKNOWN";
    }
}

void scim_err_clear(scim_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

int scim_err_vset(scim_err *err, int code, const char *fmt, va_list ap)
{
    if (err && err->code == 0) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

int scim_err_set(scim_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    scim_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void scim_fmt_time(double ps, char *buf, size_t len)
{
    if (ps < 1e3)
        snprintf(buf, len, "%.0f ps", ps);
    else if (ps < 1e6)
        snprintf(buf, len, "%.1f ns", ps / 1e3);
    else if (ps < 1e9)
        snprintf(buf, len, "%.2f us", ps / 1e6);
    else
        snprintf(buf, len, "%.3f ms", ps / 1e9);
}
