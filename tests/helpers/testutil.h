/* Small helpers the unit tests share: a cheap assertion for hot loops and
 * a seeded random stream independent of the model's. */
#ifndef SCIM_TEST_TESTUTIL_H
#define SCIM_TEST_TESTUTIL_H

#include <check.h>
#include <stdint.h>

/* ck_assert_msg evaluates its message arguments and calls into Check on
 * every pass; in the hot loops only a failure should cost anything. */
#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        if (!(cond))                                                                                         \
            ck_abort_msg(__VA_ARGS__);                                                                       \
    } while (0)

/* splitmix64 */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) (0 when n is 0). */
static inline uint64_t rnd(uint64_t *s, uint64_t n) { return n ? rng_next(s) % n : 0; }

/* A test program's main: run the suite (fork mode), 0 if every test passed. */
static inline int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#endif
