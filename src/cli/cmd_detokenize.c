// cmd_detokenize.c — placeholder until its issue lands.
#include "cli.h"

int cmd_detokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "toolformer: 'detokenize' is not built yet\n");
    return CLI_FAIL;
}
