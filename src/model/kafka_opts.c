/*
 * kafka_opts.c - the secret-property predicate of kafka_opts.h: a property
 * is secret when its name contains one of a few marks.  Matching by
 * substring errs on the side of hiding (ssl.key.password, sasl.password,
 * any *.secret) rather than listing every librdkafka property.
 */
#include "leadwatch/model/kafka_opts.h"

#include <string.h>

bool lw_kafka_is_secret(const char *key)
{
    static const char *const marks[] = {"password",    "secret",  "sasl.oauthbearer.config",
                                        "ssl.key.pem", "ssl_key", "ssl.keystore",
                                        "token"};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        if (strstr(key, marks[i]))
            return true;
    }
    return false;
}
