// cmd_train.c — placeholder until the engine lands.
#include "cli.h"

int cmd_train(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "toolformer: 'train' is not built yet\n");
    return CLI_FAIL;
}
