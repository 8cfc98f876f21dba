// tf_tokenizer.h — placeholder; filled in by its issue.
#ifndef TF_TOKENIZER_H
#define TF_TOKENIZER_H
#include "tf_common.h"
#endif
