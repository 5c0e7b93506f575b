/*
 * log.h - level-gated, subsystem-tagged logging to stderr.
 *
 * One line per message: "2026-11-23T19:25:35Z leadwatch[pid] LEVEL subsys: text".
 * A message below the current level is not formatted at all (the macro
 * checks the level first).  The level is process-wide and set once at start
 * by main; modules only call LW_LOG.  Never pass secrets.
 */
#ifndef LEADWATCH_LOG_H
#define LEADWATCH_LOG_H

#include "leadwatch/core/common.h"

typedef enum { LW_LOG_ERROR = 0, LW_LOG_WARN, LW_LOG_INFO, LW_LOG_DEBUG } lw_log_level_t;

extern lw_log_level_t lw_log_level_current;

void lw_log_set_level(lw_log_level_t level);
/* Parse "error" | "warn" | "info" | "debug". */
bool lw_log_level_parse(const char *s, lw_log_level_t *out);
void lw_log_write(lw_log_level_t level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LW_LOG(level, subsys, ...)                                                                 \
    do {                                                                                           \
        if ((level) <= lw_log_level_current)                                                       \
            lw_log_write((level), (subsys), __VA_ARGS__);                                          \
    } while (0)

#endif
