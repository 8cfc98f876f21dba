// cmd_generate.c — placeholder until the engine lands.
#include "cli.h"

int cmd_generate(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "toolformer: 'generate' is not built yet\n");
    return CLI_FAIL;
}
