/* YAML anchors and aliases in a configuration: an alias is a copy of its
 * anchor's node (a later change to one does not show in the other), the
 * YAML null spellings are null, and an alias bomb ("billion laughs") is
 * refused at the 1,000,000-node limit with the place where it crossed,
 * whether the crossing is inside one alias's copy or at a plain node after
 * many copies. Node counts are worked out in the comments. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_internal.h" /* is_null, and SCIM_CFG_MAX_NODES: the limit under test */
#include "helpers/testutil.h"
#include "scimitar/scimitar.h"

/* "NAME: &NAME [ITEM, ITEM, ...]" with n items, each "*PREV" or "x". */
static void level(char *buf, size_t len, const char *name, const char *item, int n)
{
    size_t u = strlen(buf);
    u += (size_t)snprintf(buf + u, len - u, "%s: &%s [", name, name);
    for (int i = 0; i < n; i++)
        u += (size_t)snprintf(buf + u, len - u, "%s%s", i ? ", " : "", item);
    snprintf(buf + u, len - u, "]\n");
}

/* Levels a..e: a list of 10 scalars (11 nodes), each next level a list of
 * 10 copies of the one before (111, 1111, 11111, 111111 nodes). The limit
 * counts every node parsed, an alias being one, plus every node a copy
 * makes; map keys are plain names, not nodes. So a level of 10 aliases
 * of an N-node anchor counts 1 + 10 (N + 1): a 11 (with no alias), b 121,
 * c 1,121, d 11,121, e 111,121; with the root map 123,496. */
static void five_levels(char *buf, size_t len)
{
    buf[0] = '\0';
    level(buf, len, "a", "x", 10);
    level(buf, len, "b", "*a", 10);
    level(buf, len, "c", "*b", 10);
    level(buf, len, "d", "*c", 10);
    level(buf, len, "e", "*d", 10);
}

static void expect_error(const char *yaml, int code, const char *want)
{
    scim_err err = {0};
    scim_cfg *cfg = scim_cfg_load_string(yaml, strlen(yaml), "t.yaml", &err);
    ck_assert_msg(cfg == NULL, "loaded");
    ck_assert_int_eq(err.code, code);
    ck_assert_str_eq(err.msg, want);
}

/* f: 10 copies of e. After 7 of them 123,496 + 1 (f's list) + 7 x 111,112
 * = 901,281 nodes; the 8th copy would make 1,012,393: refused at that
 * alias, the 8th item of line 6 (column 8 + 7 x 4 = 36). */
START_TEST(bomb_in_one_copy)
{
    ck_assert_int_eq(SCIM_CFG_MAX_NODES, 1000000); /* the counts below */
    char *yaml = malloc(4096);
    five_levels(yaml, 4096);
    level(yaml, 4096, "f", "*e", 10);
    expect_error(yaml, SCIM_EPARSE, "t.yaml:6:36: error: alias '*e' expands beyond 1000000 nodes; use fewer aliases");
    free(yaml);
}
END_TEST

/* Copies that each fit, then plain nodes: f holds 7 copies of e (901,281
 * nodes, as above), g 8 copies of d (+ 1 + 8 x 11,112 = 990,178), h 8 of
 * c (+ 1 + 8 x 1,112 = 999,075); then a list of 2,000 scalars on line 9:
 * the list is node 999,076, its item k (from 1) node 999,076 + k, so item
 * 925 is node 1,000,001, the first over the limit: column 4 + 3 x 924 + 1
 * = 2,777 of "i: [x, x, ...". */
START_TEST(bomb_at_a_plain_node)
{
    size_t len = 16384;
    char *yaml = malloc(len);
    five_levels(yaml, len);
    level(yaml, len, "f", "*e", 7);
    level(yaml, len, "g", "*d", 8);
    level(yaml, len, "h", "*c", 8);
    size_t u = strlen(yaml);
    u += (size_t)snprintf(yaml + u, len - u, "i: [");
    for (int i = 0; i < 2000; i++)
        u += (size_t)snprintf(yaml + u, len - u, "%sx", i ? ", " : "");
    snprintf(yaml + u, len - u, "]\n");
    expect_error(yaml, SCIM_EPARSE, "t.yaml:9:2777: error: more than 1000000 nodes (alias expansion?)");
    free(yaml);
}
END_TEST

/* Below the limit the copies are real: b's items are each a's list, and
 * loading keeps them apart from a. */
START_TEST(aliases_copy)
{
    const char *yaml = "a: &a {x: 1, y: [2, 3]}\nb: *a\nc: [*a, *a]\nn: [~, null, Null, NULL, '', 'null']\n";
    scim_err err = {0};
    scim_cfg *cfg = scim_cfg_load_string(yaml, strlen(yaml), "t.yaml", &err);
    ck_assert_msg(cfg != NULL, "%s", err.msg);
    const scim_cfg_node *root = scim_cfg_root(cfg);
    const scim_cfg_node *a = scim_cfg_map_get(root, "a"), *b = scim_cfg_map_get(root, "b");
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_ne(a, b);
    ck_assert_int_eq(scim_cfg_node_kind(b), SCIM_CFG_MAP);
    ck_assert_str_eq(scim_cfg_node_scalar(scim_cfg_map_get(b, "x")), "1");
    const scim_cfg_node *y = scim_cfg_map_get(b, "y");
    ck_assert_uint_eq(scim_cfg_node_count(y), 2);
    ck_assert_str_eq(scim_cfg_node_scalar(scim_cfg_seq_item(y, 1)), "3");
    const scim_cfg_node *c = scim_cfg_map_get(root, "c");
    ck_assert_uint_eq(scim_cfg_node_count(c), 2);
    ck_assert_ptr_ne(scim_cfg_seq_item(c, 0), scim_cfg_seq_item(c, 1));
    /* ~, null, Null and NULL are YAML's nulls; an empty or quoted string is not */
    const scim_cfg_node *n = scim_cfg_map_get(root, "n");
    ck_assert_uint_eq(scim_cfg_node_count(n), 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert_msg(scim_cfg_seq_item(n, i)->is_null == (i < 4), "item %zu", i);
    scim_cfg_destroy(cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_aliases");
    TCase *tc = tcase_create("aliases");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bomb_in_one_copy);
    tcase_add_test(tc, bomb_at_a_plain_node);
    tcase_add_test(tc, aliases_copy);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
