/* Configuration (include/scimitar/config.h): the canonical dump and hash
 * are deterministic and reload to the same tree (random trees written as
 * flow YAML, compared node by node), and --set overrides, checked on the
 * dump (a refused one changes nothing). Split from test_config.c. */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "scimitar/scimitar.h"

#include "helpers/testutil.h"

static char *dump_str(const scim_cfg *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    scim_err err = {0};
    ck_assert_int_eq(scim_cfg_dump(cfg, f, &err), 0);
    fclose(f);
    return buf;
}

/* ------------------------------------------------------------------------ */
/* dump and hash                                                              */

/* A random tree, written as flow YAML with every scalar double-quoted (so
 * the text is unambiguous whatever the characters), then compared node by
 * node with what the loader built, with what the dump reloads to, and the
 * dump with the dump of the reload. */
typedef struct rnode {
    scim_cfg_kind kind;
    bool null;
    char *s;
    size_t n;
    char **keys;
    struct rnode **kids;
} rnode;

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_putc(sbuf *b, char c)
{
    if (b->n + 2 > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->p = realloc(b->p, b->cap);
    }
    b->p[b->n++] = c;
    b->p[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    while (*s)
        sb_putc(b, *s++);
}

/* Characters a configuration can carry: printable ASCII (every YAML
 * indicator among them), tab, newline, other control characters (only
 * reachable through escapes), and multi-byte UTF-8. */
static char *rand_string(uint64_t *s, bool key)
{
    static const char *const pieces[] = {"a", "b", "z", "0", "9", " ", ":", ": ", "#", " #", "-", "- ", "?", ",",
                                         "[", "]", "{", "}", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`",
                                         "\\", "~", "null", "Null", "true", ".", "...", "---", "=", "\t", "\n",
                                         "\r", "\x01", "\x1b", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80",
                                         "\xc2\xa0", "x", "\x7f", "\xc2\x85", "\xe2\x80\xa8", "\xef\xbb\xbf", "\xc2\x80", "\xef\xbf\xbe",
                                         /* neighbours of the escaped ones, printed as they are: an em dash,
                                          * the euro sign, U+FEC0, U+FF01, U+FFFD; and PS, U+FFFF, escaped */
                                         "\xe2\x80\x94", "\xe2\x82\xac", "\xef\xbb\x80", "\xef\xbc\x81",
                                         "\xef\xbf\xbd", "\xe2\x80\xa9", "\xef\xbf\xbf"};
    sbuf b = {0};
    size_t len = rnd(s, 4) == 0 ? 0 : 1 + rnd(s, 8);
    if (key && len == 0 && rnd(s, 2))
        len = 1;
    if (key && rnd(s, 40) == 0) /* long keys: past YAML's 1024-character implicit key */
        len = 100 + rnd(s, 300);
    for (size_t i = 0; i < len; i++)
        sb_puts(&b, pieces[rnd(s, SCIM_COUNT_OF(pieces))]);
    if (!b.p)
        return strdup("");
    return b.p;
}

static rnode *rand_tree(uint64_t *s, int depth)
{
    rnode *n = calloc(1, sizeof *n);
    uint64_t k = depth == 0 ? 0 : depth > 3 ? 2 : rnd(s, 3);
    if (k == 2) {
        n->kind = SCIM_CFG_SCALAR;
        n->null = rnd(s, 8) == 0;
        n->s = n->null ? strdup("~") : rand_string(s, false);
        return n;
    }
    n->kind = k == 0 ? SCIM_CFG_MAP : SCIM_CFG_SEQ;
    size_t want = rnd(s, 5);
    n->keys = calloc(want + 1, sizeof *n->keys);
    n->kids = calloc(want + 1, sizeof *n->kids);
    for (size_t i = 0; i < want; i++) {
        if (n->kind == SCIM_CFG_MAP) {
            char *key = rand_string(s, true);
            bool dup = false;
            for (size_t j = 0; j < n->n; j++)
                dup |= strcmp(n->keys[j], key) == 0;
            if (dup) {
                free(key);
                continue;
            }
            n->keys[n->n] = key;
        }
        n->kids[n->n++] = rand_tree(s, depth + 1);
    }
    return n;
}

static void rfree(rnode *n)
{
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            free(n->keys[i]);
        rfree(n->kids[i]);
    }
    free(n->keys);
    free(n->kids);
    free(n->s);
    free(n);
}

static void emit_quoted(sbuf *b, const char *s)
{
    sb_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            sb_putc(b, '\\');
            sb_putc(b, (char)*p);
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            sb_puts(b, esc);
        } else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0) { /* C1 controls, NEL */
            snprintf(esc, sizeof esc, "\\x%02x", p[1]);
            sb_puts(b, esc);
            p++;
        } else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) { /* LS, PS */
            sb_puts(b, p[2] == 0xa8 ? "\\L" : "\\P");
            p += 2;
        } else if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) { /* BOM */
            sb_puts(b, "\\uFEFF");
            p += 2;
        } else if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) { /* non-characters */
            sb_puts(b, p[2] == 0xbe ? "\\uFFFE" : "\\uFFFF");
            p += 2;
        } else {
            sb_putc(b, (char)*p);
        }
    }
    sb_putc(b, '"');
}

static void emit(sbuf *b, const rnode *n)
{
    if (n->kind == SCIM_CFG_SCALAR) {
        if (n->null)
            sb_puts(b, "~");
        else
            emit_quoted(b, n->s);
        return;
    }
    sb_putc(b, n->kind == SCIM_CFG_MAP ? '{' : '[');
    for (size_t i = 0; i < n->n; i++) {
        if (i)
            sb_puts(b, ", ");
        if (n->kind == SCIM_CFG_MAP) {
            emit_quoted(b, n->keys[i]);
            sb_puts(b, ": ");
        }
        emit(b, n->kids[i]);
    }
    sb_putc(b, n->kind == SCIM_CFG_MAP ? '}' : ']');
}

static void same_tree(const rnode *r, const scim_cfg_node *c, const char *what)
{
    CHECK(scim_cfg_node_kind(c) == r->kind, "%s: kind %d, want %d", what, scim_cfg_node_kind(c), r->kind);
    if (r->kind == SCIM_CFG_SCALAR) {
        if (r->null) {
            /* null reads as an empty or ~ scalar */
            const char *v = scim_cfg_node_scalar(c);
            CHECK(!strcmp(v, "~") || !strcmp(v, ""), "%s: null became '%s'", what, v);
        } else {
            CHECK(!strcmp(scim_cfg_node_scalar(c), r->s), "%s: scalar '%s', want '%s'", what, scim_cfg_node_scalar(c),
                  r->s);
        }
        return;
    }
    CHECK(scim_cfg_node_count(c) == r->n, "%s: %zu items, want %zu", what, scim_cfg_node_count(c), r->n);
    for (size_t i = 0; i < r->n; i++) {
        if (r->kind == SCIM_CFG_MAP) {
            CHECK(!strcmp(scim_cfg_map_key(c, i), r->keys[i]), "%s: key '%s', want '%s'", what, scim_cfg_map_key(c, i),
                  r->keys[i]);
            same_tree(r->kids[i], scim_cfg_map_value(c, i), what);
        } else {
            same_tree(r->kids[i], scim_cfg_seq_item(c, i), what);
        }
    }
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

START_TEST(test_dump_roundtrip)
{
    uint64_t s = 777;
    for (int iter = 0; iter < 2000; iter++) {
        rnode *tree = rand_tree(&s, 0);
        sbuf text = {0};
        emit(&text, tree);
        scim_err err = {0};
        scim_cfg *a = scim_cfg_load_string(text.p, text.n, "gen.yaml", &err);
        CHECK(a != NULL, "generated YAML did not load: %s\n%s", err.msg, text.p);
        same_tree(tree, scim_cfg_root(a), "loaded");
        char *d1 = dump_str(a);
        scim_cfg *b = scim_cfg_load_string(d1, strlen(d1), "dump.yaml", &err);
        CHECK(b != NULL, "the dump did not load: %s\n--- source\n%s\n--- dump\n%s", err.msg, text.p, d1);
        same_tree(tree, scim_cfg_root(b), "reloaded dump");
        char *d2 = dump_str(b);
        CHECK(strcmp(d1, d2) == 0, "dump is not a fixed point:\n%s\n---\n%s", d1, d2);
        CHECK(scim_cfg_hash(a) == scim_cfg_hash(b), "hash differs after reload");
        CHECK(scim_cfg_hash(a) == fnv1a(d1), "hash is not FNV-1a of the dump");
        free(d1);
        free(d2);
        scim_cfg_destroy(a);
        scim_cfg_destroy(b);
        free(text.p);
        rfree(tree);
    }
}
END_TEST

START_TEST(test_dump_hash_stable)
{
    const char *yaml = "# a comment\n"
                       "seed: 7\n"
                       "devices:\n"
                       "  nic0: {trace: \"a b.trace\", pasid: 1, iotlb: {entries: 64}}\n"
                       "  nic1:\n"
                       "    trace: 'x: y'\n"
                       "    list: [1, ' lead', \"tab\\there\", '#not a comment', \"\", ~, null, {}, []]\n"
                       "quoted_null: 'null'\n"
                       "\"key with: colon\": -1\n";
    const char *want = "seed: 7\n"
                       "devices:\n"
                       "  nic0:\n"
                       "    trace: a b.trace\n"
                       "    pasid: 1\n"
                       "    iotlb:\n"
                       "      entries: 64\n"
                       "  nic1:\n"
                       "    trace: \"x: y\"\n"
                       "    list:\n"
                       "      - 1\n"
                       "      - \" lead\"\n"
                       "      - \"tab\\there\"\n"
                       "      - \"#not a comment\"\n"
                       "      - \"\"\n"
                       "      - ~\n"
                       "      - ~\n"
                       "      - {}\n"
                       "      - []\n"
                       "quoted_null: \"null\"\n"
                       "\"key with: colon\": \"-1\"\n";
    scim_err err = {0};
    scim_cfg *a = scim_cfg_load_string(yaml, strlen(yaml), "a.yaml", &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    scim_cfg *b = scim_cfg_load_string(yaml, strlen(yaml), "other-name.yaml", &err);
    char *da = dump_str(a), *db = dump_str(b);
    ck_assert_str_eq(da, want);
    ck_assert_str_eq(db, want); /* the file name is not part of the tree */
    ck_assert_uint_eq(scim_cfg_hash(a), scim_cfg_hash(b));
    ck_assert_uint_eq(scim_cfg_hash(a), fnv1a(want));
    ck_assert_uint_eq(scim_cfg_hash(a), scim_cfg_hash(a));
    /* any change changes the hash; setting the same value back restores it */
    uint64_t h0 = scim_cfg_hash(a);
    ck_assert_int_eq(scim_cfg_set(a, "devices.nic0.iotlb.entries=65", &err), 0);
    ck_assert_uint_ne(scim_cfg_hash(a), h0);
    ck_assert_int_eq(scim_cfg_set(a, "devices.nic0.iotlb.entries=64", &err), 0);
    ck_assert_uint_eq(scim_cfg_hash(a), h0);
    /* keys too long to be implicit YAML keys are written explicitly */
    char *longkey = malloc(1201);
    memset(longkey, 'k', 1200);
    longkey[1200] = '\0';
    char *src = malloc(3000);
    snprintf(src, 3000, "? %s\n: 1\n? %.*sq\n: {x: [1]}\n", longkey, 1199, longkey);
    scim_cfg *l = scim_cfg_load_string(src, strlen(src), "l", &err);
    ck_assert_msg(l != NULL, "%s", err.msg);
    free(src);
    char *dl = dump_str(l);
    char *wantl = malloc(3000);
    snprintf(wantl, 3000, "? %s\n: 1\n? %.*sq\n:\n  x:\n    - 1\n", longkey, 1199, longkey);
    CHECK(strcmp(dl, wantl) == 0, "dump of long keys:\n%.300s", dl);
    scim_cfg *l2 = scim_cfg_load_string(dl, strlen(dl), "l2", &err);
    ck_assert_msg(l2 != NULL, "%s", err.msg);
    ck_assert_uint_eq(scim_cfg_hash(l2), scim_cfg_hash(l));
    scim_cfg_destroy(l);
    scim_cfg_destroy(l2);
    free(dl);
    free(wantl);
    free(longkey);
    /* an empty configuration */
    scim_cfg *e = scim_cfg_new_empty("e");
    char *de = dump_str(e);
    ck_assert_str_eq(de, "{}\n");
    ck_assert_uint_eq(scim_cfg_hash(e), fnv1a("{}\n"));
    free(da);
    free(db);
    free(de);
    scim_cfg_destroy(a);
    scim_cfg_destroy(b);
    scim_cfg_destroy(e);
}
END_TEST

/* ---- --set overrides of a loaded configuration (scim_cfg_set,
 * scim_cfg_set_kv): paths into maps and lists, appends, flow values, and
 * all-or-nothing refusals whose exact messages name what was expected ---- */

static void expect_set_error(scim_cfg *cfg, const char *assign, int code, const char *want)
{
    scim_err err = {0};
    char *before = dump_str(cfg);
    ck_assert_int_eq(scim_cfg_set(cfg, assign, &err), code);
    ck_assert_str_eq(err.msg, want);
    char *after = dump_str(cfg);
    ck_assert_str_eq(after, before); /* a failed override changes nothing */
    free(before);
    free(after);
}

START_TEST(test_set)
{
    scim_err err = {0};
    const char *yaml = "a: 1\nlist: [x, {k: v}]\nm:\n  n: 2\n";
    scim_cfg *cfg = scim_cfg_load_string(yaml, strlen(yaml), "t.yaml", &err);
    ck_assert_ptr_nonnull(cfg);
    const scim_cfg_node *root = scim_cfg_root(cfg);
    ck_assert_int_eq(scim_cfg_set(cfg, "a=2", &err), 0);
    ck_assert_int_eq(scim_cfg_set(cfg, "m.n=0x10", &err), 0);
    ck_assert_int_eq(scim_cfg_set(cfg, "new.deep.key=hello world", &err), 0);
    ck_assert_int_eq(scim_cfg_set(cfg, "list.0=y", &err), 0);
    ck_assert_int_eq(scim_cfg_set(cfg, "list.1.k=w", &err), 0);
    ck_assert_int_eq(scim_cfg_set(cfg, "list.2=appended", &err), 0);
    ck_assert_int_eq(scim_cfg_set(cfg, "list.3.q=z", &err), 0);
    ck_assert_int_eq(scim_cfg_set(cfg, "flow={p: [1, 2], q: ~}", &err), 0);
    ck_assert_int_eq(scim_cfg_set(cfg, "a.sub=3", &err), 0); /* the scalar becomes a map */
    ck_assert_int_eq(scim_cfg_set(cfg, "empty=", &err), 0);
    ck_assert_int_eq(scim_cfg_set_kv(cfg, "kv.x", "'quoted: yes'", &err), 0);
    ck_assert_msg(err.code == 0, "%s", err.msg);
    ck_assert_str_eq(scim_cfg_node_scalar(scim_cfg_get_path(root, "a.sub")), "3");
    ck_assert_str_eq(scim_cfg_node_scalar(scim_cfg_get_path(root, "m.n")), "0x10");
    ck_assert_str_eq(scim_cfg_node_scalar(scim_cfg_get_path(root, "new.deep.key")), "hello world");
    ck_assert_str_eq(scim_cfg_node_scalar(scim_cfg_get_path(root, "list.0")), "y");
    ck_assert_str_eq(scim_cfg_node_scalar(scim_cfg_get_path(root, "list.1.k")), "w");
    ck_assert_str_eq(scim_cfg_node_scalar(scim_cfg_get_path(root, "list.2")), "appended");
    ck_assert_str_eq(scim_cfg_node_scalar(scim_cfg_get_path(root, "list.3.q")), "z");
    ck_assert_str_eq(scim_cfg_node_scalar(scim_cfg_get_path(root, "flow.p.1")), "2");
    ck_assert_str_eq(scim_cfg_node_scalar(scim_cfg_get_path(root, "kv.x")), "quoted: yes");
    ck_assert_ptr_null(scim_cfg_get_path(root, "list.4"));
    ck_assert_ptr_null(scim_cfg_get_path(root, "nope.x"));
    /* override values are located in "--set" at their column */
    const scim_cfg_node *key = scim_cfg_get_path(root, "new.deep.key");
    ck_assert_str_eq(scim_cfg_node_file(key), "--set");
    ck_assert_int_eq(scim_cfg_node_line(key), 1);
    ck_assert_int_eq(scim_cfg_node_col(key), 14);
    char *d = dump_str(cfg);
    ck_assert_str_eq(d, "a:\n"
                        "  sub: 3\n"
                        "list:\n"
                        "  - y\n"
                        "  -\n"
                        "    k: w\n"
                        "  - appended\n"
                        "  -\n"
                        "    q: z\n"
                        "m:\n"
                        "  n: 0x10\n"
                        "new:\n"
                        "  deep:\n"
                        "    key: hello world\n"
                        "flow:\n"
                        "  p:\n"
                        "    - 1\n"
                        "    - 2\n"
                        "  q: ~\n"
                        "empty: ~\n"
                        "kv:\n"
                        "  x: \"quoted: yes\"\n");
    free(d);

    expect_set_error(cfg, "abc", SCIM_EINVAL, "--set:1:1: error: 'abc' has no '='; write --set key.path=value");
    expect_set_error(cfg, "=5", SCIM_EINVAL, "--set:1:1: error: empty key in '=5'; write --set key.path=value");
    expect_set_error(cfg, "a..b=1", SCIM_EINVAL, "--set:1:3: error: empty path component in 'a..b'");
    expect_set_error(cfg, "m.=1", SCIM_EINVAL, "--set:1:3: error: empty path component in 'm.'");
    expect_set_error(cfg, "fresh.sub..x=1", SCIM_EINVAL, "--set:1:11: error: empty path component in 'fresh.sub..x'");
    char longkey[400];
    memset(longkey, 'k', 300);
    snprintf(longkey + 300, 100, ".x=1");
    expect_set_error(cfg, longkey, SCIM_EINVAL, "--set:1:1: error: path component too long");
    expect_set_error(cfg, "list.9=x", SCIM_EINVAL,
                     "--set:1:6: error: index 9 is beyond the list's end (it has 4 items; 4 appends)");
    expect_set_error(cfg, "list.x=1", SCIM_EINVAL, "--set:1:6: error: 'x' indexes a list; use a number (0..4)");
    expect_set_error(cfg, "a.b=[1, 2", SCIM_EPARSE,
                     "--set:1:10: error: did not find expected ',' or ']' while parsing a flow sequence (line 1); "
                     "check indentation, colons and quotes");
    expect_set_error(cfg, "x=a: b: c", SCIM_EPARSE,
                     "--set:1:7: error: mapping values are not allowed in this context; check indentation, colons "
                     "and quotes");
    expect_set_error(cfg, "x=!!binary abc", SCIM_EPARSE, "--set:1:3: error: unsupported YAML tag "
                                                          "'tag:yaml.org,2002:binary'; remove it");
    scim_cfg_destroy(cfg);
}
END_TEST

static Suite *config_dump_suite(void)
{
    Suite *s = suite_create("config_dump");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_dump_roundtrip);
    tcase_add_test(tc, test_dump_hash_stable);
    tcase_add_test(tc, test_set);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(config_dump_suite()); }
