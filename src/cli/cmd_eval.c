// cmd_eval.c — placeholder until it lands.
#include "cli.h"

int cmd_eval(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "toolformer: 'eval' is not built yet\n");
    return CLI_FAIL;
}
