/* SPDX-License-Identifier: Apache-2.0 */
/* Store operations of the notify work (SPEC 7). */
#ifndef TT_STORE_NOTIFY_STORE_H
#define TT_STORE_NOTIFY_STORE_H

#include "store/store.h"

struct tti_notify_ops {
    int placeholder; /* filled by the notify work */
};

#endif
