// cmd_tokenize.c — placeholder until its issue lands.
#include "cli.h"

int cmd_tokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "toolformer: 'tokenize' is not built yet\n");
    return CLI_FAIL;
}
