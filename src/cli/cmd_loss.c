// cmd_loss.c — placeholder until the engine lands.
#include "cli.h"

int cmd_loss(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "toolformer: 'loss' is not built yet\n");
    return CLI_FAIL;
}
