/*
 * partslot.c - find-or-add of a (topic, partition) slot in a caller's
 * bounded array (see partslot.h): a linear scan, then a zeroed slot at the end.
 */
#include "leadwatch/core/partslot.h"

#include <stdio.h>
#include <string.h>

void *lw_partslot(void *slots, size_t slot_size, size_t *n, size_t max, const char *topic,
                  int32_t partition, bool *added)
{
    unsigned char *base = slots;
    if (added)
        *added = false;
    for (size_t i = 0; i < *n; i++) {
        lw_partkey_t *k = (lw_partkey_t *)(base + i * slot_size);
        if (k->partition == partition && strcmp(k->topic, topic) == 0)
            return k;
    }
    if (*n >= max)
        return NULL;
    lw_partkey_t *k = (lw_partkey_t *)(base + (*n)++ * slot_size);
    memset(k, 0, slot_size);
    snprintf(k->topic, sizeof k->topic, "%s", topic);
    k->partition = partition;
    if (added)
        *added = true;
    return k;
}
