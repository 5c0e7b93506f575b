/*
 * partslot.h - a bounded table of per-(topic, partition) slots, found or
 * added by key.
 *
 * How it works: the caller owns an array of its own slot struct whose first
 * member is an lw_partkey_t, and the count of slots in use.  lw_partslot
 * scans slots[0..*n) linearly (the tables are small: the partitions one
 * consumer is assigned), returns the slot with that key, else zeroes
 * slots[*n], writes the key into it, counts it and sets *added; NULL when
 * the table already holds `max` slots (the caller's bound).  Kafka topic
 * names are at most 249 bytes, so LW_PARTKEY_TOPIC_SIZE holds any of them.
 */
#ifndef LEADWATCH_PARTSLOT_H
#define LEADWATCH_PARTSLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_PARTKEY_TOPIC_SIZE 256

typedef struct {
    char topic[LW_PARTKEY_TOPIC_SIZE];
    int32_t partition;
} lw_partkey_t;

/*
 * The slot of (topic, partition) in slots[0..*n), each `slot_size` bytes
 * starting with an lw_partkey_t; else a new zeroed one holding the key
 * (*n grows by one, *added true when added is non-NULL); NULL when *n == max.
 */
void *lw_partslot(void *slots, size_t slot_size, size_t *n, size_t max, const char *topic,
                  int32_t partition, bool *added);

#endif
