/* kafka_conf.h — librdkafka configuration shared by the kafka sink
 * (src/sink/kafka_sink.c), the kafka source and the stage-1 forwarder
 * (src/kafka/driver.c, stage1.c, stage2.c): in util, below both.
 *
 * Every Kafka client libsecdet makes starts from sd_kafka_conf_new: the
 * brokers, then the user's "properties" object (librdkafka property names,
 * string values; a wrong name or value is an error naming the property and
 * librdkafka's reason, never the value, which may be a password). Producers
 * then get sd_kafka_conf_producer: an idempotent producer (enable.idempotence,
 * acks=all, which keeps order per partition across retries), a short linger
 * for batching. The user's properties win over these defaults except
 * enable.idempotence, which is always on.
 */
#ifndef SECDET_UTIL_KAFKA_CONF_H
#define SECDET_UTIL_KAFKA_CONF_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

typedef struct cJSON cJSON;

/* A new configuration with bootstrap.servers = brokers and every member of
 * `props` (NULL: none; must be an object of strings, numbers or booleans,
 * numbers and booleans are turned into their text, or secret references,
 * read now: util/secret.h; librdkafka's own log is
 * set to errors only unless props set log_level or debug). `client_id` (may be
 * NULL) sets client.id. NULL with a message in err on failure. */
rd_kafka_conf_t *sd_kafka_conf_new(const char *brokers, const cJSON *props, const char *client_id, char *err,
                                   size_t errlen);

/* Producer settings on conf (made by sd_kafka_conf_new with the same props):
 * acks=all and linger.ms=5 unless props set them, enable.idempotence=true
 * always. 0, or -1 with a message in err. */
int sd_kafka_conf_producer(rd_kafka_conf_t *conf, const cJSON *props, char *err, size_t errlen);

/* Whether a delivery or produce error is worth retrying (broker down,
 * timeouts, leader changes, queue full) rather than permanent (message too
 * large, unknown or forbidden topic, invalid config). */
int sd_kafka_err_retriable(rd_kafka_resp_err_t err);

#endif
