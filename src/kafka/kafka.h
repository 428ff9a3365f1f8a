/* kafka.h — what the `secdet` command needs of the Kafka input beside the
 * public API (secdet_kafka_*): checking an input's configuration without
 * starting anything. The input's insides (kafka_int.h) stay its own.
 */
#ifndef SECDET_KAFKA_KAFKA_H
#define SECDET_KAFKA_KAFKA_H

#include <stdbool.h>
#include <stddef.h>

/* Checks a kafka input's JSON object: every key (docs/scale-out.md) and,
 * with `properties` true, that librdkafka takes its properties (secret
 * references read), without contacting a broker. 0 and *aggregate (stage
 * "aggregate"), or -1 with the problem in err, never a property's value. */
int sd_kafka_input_check(const char *json, size_t len, bool properties, bool *aggregate, char *err, size_t errlen);

#endif
