/* --set overrides of a loaded configuration (scim_cfg_set, scim_cfg_set_kv):
 * paths into maps and lists, appends, flow values, and all-or-nothing
 * refusals whose exact messages name what was expected. */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
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

static Suite *config_set_suite(void)
{
    Suite *s = suite_create("config_set");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_set);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(config_set_suite()); }
