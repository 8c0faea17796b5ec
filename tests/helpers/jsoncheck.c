/* A tiny JSON validator (RFC 8259 grammar, no semantic checks), for
 * tests of what the writers print. */
#include "helpers/jsoncheck.h"

#include <string.h>

static void js_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}
static int js_value(const char **p, int depth);
static int js_string(const char **p)
{
    if (**p != '"')
        return 0;
    (*p)++;
    while (**p != '"') {
        unsigned char c = (unsigned char)**p;
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            (*p)++;
            if (!strchr("\"\\/bfnrtu", **p) || !**p)
                return 0;
        }
        (*p)++;
    }
    (*p)++;
    return 1;
}
static int js_number(const char **p)
{
    const char *s = *p;
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return 0;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    *p = s;
    return 1;
}
static int js_value(const char **p, int depth)
{
    if (depth > 32)
        return 0;
    js_ws(p);
    if (**p == '{' || **p == '[') {
        char close = **p == '{' ? '}' : ']';
        int obj = **p == '{';
        (*p)++;
        js_ws(p);
        if (**p == close) {
            (*p)++;
            return 1;
        }
        for (;;) {
            js_ws(p);
            if (obj) {
                if (!js_string(p))
                    return 0;
                js_ws(p);
                if (**p != ':')
                    return 0;
                (*p)++;
            }
            if (!js_value(p, depth + 1))
                return 0;
            js_ws(p);
            if (**p == ',') {
                (*p)++;
                continue;
            }
            if (**p != close)
                return 0;
            (*p)++;
            return 1;
        }
    }
    if (**p == '"')
        return js_string(p);
    if (!strncmp(*p, "true", 4) || !strncmp(*p, "null", 4)) {
        *p += 4;
        return 1;
    }
    if (!strncmp(*p, "false", 5)) {
        *p += 5;
        return 1;
    }
    return js_number(p);
}
int json_valid(const char *text)
{
    const char *p = text;
    if (!js_value(&p, 0))
        return 0;
    js_ws(&p);
    return *p == '\0';
}
