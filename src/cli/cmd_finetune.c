// cmd_finetune.c — placeholder until it lands.
#include "cli.h"

int cmd_finetune(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "toolformer: 'finetune' is not built yet\n");
    return CLI_FAIL;
}
