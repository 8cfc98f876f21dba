// tf_tools.h — placeholder; filled in by its issue.
#ifndef TF_TOOLS_H
#define TF_TOOLS_H
#include "tf_common.h"
#endif
