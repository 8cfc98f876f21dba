// cmd_index.c — placeholder until its issue lands.
#include "cli.h"

int cmd_index(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "toolformer: 'index' is not built yet\n");
    return CLI_FAIL;
}
