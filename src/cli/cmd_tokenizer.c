// cmd_tokenizer.c — placeholder until its issue lands.
#include "cli.h"

int cmd_tokenizer(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "toolformer: 'tokenizer' is not built yet\n");
    return CLI_FAIL;
}
