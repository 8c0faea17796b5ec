/* Configuration: the markdown reference of a parameter table, and the
 * canonical dump of a tree and its hash. Contract in core/config.h. */
#include "core/config_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------- docs ---------- */

static const char *type_name(const scim_param_decl *d)
{
    switch (d->type) {
    case SCIM_P_U64: return "integer";
    case SCIM_P_DOUBLE: return "number";
    case SCIM_P_BOOL: return "bool";
    case SCIM_P_SIZE: return "size";
    case SCIM_P_TIME: return "time";
    case SCIM_P_FREQ: return "frequency";
    case SCIM_P_BANDWIDTH: return "bandwidth";
    case SCIM_P_ENUM: return "enum";
    case SCIM_P_STRING: return "string";
    default: return "map/list";
    }
}

int scim_cfg_doc_markdown(FILE *out, const char *prefix, const scim_param_decl *decls, size_t n)
{
    fprintf(out, "| key | type | default | unit | range | description | source of the default |\n"
                 "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        const scim_param_decl *d = &decls[i];
        char range[128] = "";
        if (d->type == SCIM_P_ENUM) {
            for (int j = 0; d->enum_values[j]; j++) {
                strncat(range, j ? ", " : "", sizeof range - strlen(range) - 1);
                strncat(range, d->enum_values[j], sizeof range - strlen(range) - 1);
            }
        } else if (d->ranged) {
            /* whole bounds in full, as the range error prints them (%g
             * would print 2^57 bytes as 1.44115188075856e+17) */
            snprintf(range, sizeof range, "%.*f..%.*f", d->min == floor(d->min) ? 0 : 6, d->min,
                     d->max == floor(d->max) ? 0 : 6, d->max);
        }
        fprintf(out, "| `%s%s` | %s | %s | %s | %s | %s | %s |\n", prefix, d->key, type_name(d),
                d->def ? (*d->def ? d->def : "\"\"") : (d->type == SCIM_P_NODE ? "(none)" : "(required)"),
                d->unit ? d->unit : "", range, d->doc ? d->doc : "", d->source ? d->source : "");
    }
    return ferror(out) ? SCIM_EIO : 0;
}

/* ---------- dump and hash ---------- */

/* Characters a YAML reader rejects or reads as a line break, which can
 * only have come in through a double-quoted escape: DEL, C1 controls (NEL
 * among them), U+2028/2029, U+FEFF, U+FFFE/FFFF. Returns the length of the
 * UTF-8 sequence at p (0 if none) and its escape in esc[8]. */
static int special_char(const unsigned char *p, char *esc)
{
    int n = 0;
    if (p[0] == 0x7f) {
        snprintf(esc, 8, "\\x7f");
        n = 1;
    } else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0) {
        snprintf(esc, 8, "\\x%02x", p[1]);
        n = 2;
    } else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
        snprintf(esc, 8, "\\%c", p[2] == 0xa8 ? 'L' : 'P');
        n = 3;
    } else if (p[0] == 0xef && ((p[1] == 0xbb && p[2] == 0xbf) || (p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)))) {
        snprintf(esc, 8, "\\u%s", p[1] == 0xbb ? "FEFF" : p[2] == 0xbe ? "FFFE" : "FFFF");
        n = 3;
    }
    return n;
}

static bool needs_quotes(const scim_cfg_node *n)
{
    const char *s = n->scalar;
    if (n->is_null)
        return false;
    if (!*s || isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1]))
        return true;
    if (!strcmp(s, "~") || !strcasecmp(s, "null"))
        return true;
    if (!strncmp(s, "...", 3)) /* at column 0, "... " ends the document */
        return true;
    if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]))
        return true;
    char esc[8];
    for (const char *p = s; *p; p++)
        if (*p == '#' || (*p == ':' && (p[1] == ' ' || p[1] == '\0')) || *p == '\n' || *p == '\t' ||
            (unsigned char)*p < 0x20 || *p == '"' || *p == '\\' || special_char((const unsigned char *)p, esc))
            return true;
    return false;
}

static void dump_scalar(const scim_cfg_node *n, FILE *out)
{
    if (n->is_null) {
        fputs("~", out);
        return;
    }
    if (!needs_quotes(n)) {
        fputs(n->scalar, out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)n->scalar; *p; p++) {
        char esc[8];
        int k = special_char(p, esc);
        if (k) {
            fputs(esc, out);
            p += k - 1;
        } else if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void dump_key(const char *k, FILE *out)
{
    scim_cfg_node tmp = {.kind = SCIM_CFG_SCALAR, .scalar = (char *)k};
    dump_scalar(&tmp, out);
}

static void dump_node(const scim_cfg_node *n, int indent, FILE *out);

static void dump_child(const scim_cfg_node *v, int indent, FILE *out)
{
    if (v->kind == SCIM_CFG_SCALAR) {
        fputc(' ', out);
        dump_scalar(v, out);
        fputc('\n', out);
    } else if (v->n == 0) {
        fputs(v->kind == SCIM_CFG_MAP ? " {}\n" : " []\n", out);
    } else {
        fputc('\n', out);
        dump_node(v, indent + 2, out);
    }
}

static void dump_node(const scim_cfg_node *n, int indent, FILE *out)
{
    for (size_t i = 0; i < n->n; i++) {
        fprintf(out, "%*s", indent, "");
        if (n->kind == SCIM_CFG_MAP) {
            /* An implicit key is at most 1024 characters long (YAML 1.2,
             * 7.4.2); one that could write longer (4 per byte escaped) is
             * written as an explicit "? key" / ":" pair. */
            if (strlen(n->keys[i]) > 255) {
                fputs("? ", out);
                dump_key(n->keys[i], out);
                fprintf(out, "\n%*s", indent, "");
            } else {
                dump_key(n->keys[i], out);
            }
            fputc(':', out);
        } else {
            fputc('-', out);
        }
        dump_child(n->vals[i], indent, out);
    }
}

int scim_cfg_dump(const scim_cfg *cfg, FILE *out, scim_err *err)
{
    if (cfg->root->n == 0)
        fputs("{}\n", out);
    else
        dump_node(cfg->root, 0, out);
    return ferror(out) ? scim_err_set(err, SCIM_EIO, "could not write the configuration dump") : 0;
}

uint64_t scim_cfg_hash(const scim_cfg *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return 0;
    scim_cfg_dump(cfg, f, NULL);
    fclose(f);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)buf[i];
        h *= 0x100000001b3ull;
    }
    free(buf);
    return h;
}
