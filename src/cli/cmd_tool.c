// cmd_tool.c — placeholder until its issue lands.
#include "cli.h"

int cmd_tool(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "toolformer: 'tool' is not built yet\n");
    return CLI_FAIL;
}
