/*
 * event_names.c - the names of the event decoder's enums (event.h): reject
 * reasons as counted in stats and dead letters, and the vendor formats as
 * written in the config (`rudderstack` is an alias of `segment`: it follows
 * the Segment spec).  Split from event.c, which holds the decoder itself.
 */
#include "leadwatch/model/event.h"

#include <string.h>

const char *lw_reject_name(lw_reject_t r)
{
    switch (r) {
    case LW_REJECT_NONE: return "none";
    case LW_REJECT_EMPTY: return "empty";
    case LW_REJECT_TOO_LARGE: return "too_large";
    case LW_REJECT_INVALID_UTF8: return "invalid_utf8";
    case LW_REJECT_INVALID_JSON: return "invalid_json";
    case LW_REJECT_NOT_OBJECT: return "not_object";
    case LW_REJECT_TOO_DEEP: return "too_deep";
    case LW_REJECT_BAD_NUMBER: return "bad_number";
    case LW_REJECT_MISSING_EVENT: return "missing_event";
    case LW_REJECT_MISSING_USER: return "missing_user";
    case LW_REJECT_MISSING_TIME: return "missing_time";
    case LW_REJECT_BAD_TIME: return "bad_time";
    case LW_REJECT_TIME_TOO_OLD: return "time_too_old";
    case LW_REJECT_TIME_IN_FUTURE: return "time_in_future";
    case LW_REJECT_DUPLICATE: return "duplicate";
    case LW_REJECT__COUNT: break;
    }
    return "unknown";
}

bool lw_format_parse(const char *s, lw_format_t *out)
{
    static const lw_format_t all[] = {LW_FMT_SEGMENT, LW_FMT_AMPLITUDE, LW_FMT_POSTHOG,
                                      LW_FMT_CUSTOM};
    if (!s)
        return false;
    if (strcmp(s, "rudderstack") == 0) { /* RudderStack follows the Segment spec */
        *out = LW_FMT_SEGMENT;
        return true;
    }
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, lw_format_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

const char *lw_format_name(lw_format_t f)
{
    switch (f) {
    case LW_FMT_SEGMENT: return "segment";
    case LW_FMT_AMPLITUDE: return "amplitude";
    case LW_FMT_CUSTOM: return "custom";
    case LW_FMT_POSTHOG: return "posthog";
    }
    return "unknown";
}
