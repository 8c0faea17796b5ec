/* EXPECT for the C++ test programs (test_tlm*.cpp, which run SystemC
 * themselves and so are not Check runners): a failed condition is printed
 * with its location and counted in the program's own `failures`, and the
 * program goes on to report every failure. */
#ifndef SCIM_TEST_EXPECT_H
#define SCIM_TEST_EXPECT_H

#include <cstdio>

#define EXPECT(cond, ...)                                                                                    \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            failures++;                                                                                      \
            std::fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #cond);                           \
            std::fprintf(stderr, __VA_ARGS__);                                                               \
            std::fprintf(stderr, "\n");                                                                      \
        }                                                                                                    \
    } while (0)

#endif
