// tf_train.h — placeholder; filled in by its issue.
#ifndef TF_TRAIN_H
#define TF_TRAIN_H
#include "tf_common.h"
#endif
