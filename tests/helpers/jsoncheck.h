/* A JSON validator for tests (RFC 8259 grammar, no semantic checks). */
#ifndef SCIM_TEST_JSONCHECK_H
#define SCIM_TEST_JSONCHECK_H

/* 1 if text is one JSON value (surrounded by white space at most), else 0. */
int json_valid(const char *text);

#endif
