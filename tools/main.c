#include "scimitar/common.h"
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("scimitar %s\n", scim_version_string());
        return 0;
    }
    fprintf(stderr, "usage: scimitar run|check|trace ...\n");
    return 2;
}
