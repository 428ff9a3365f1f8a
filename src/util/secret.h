/* secret.h — secret references: a configuration value written as
 * {"env": "NAME"} or {"file": "/run/secrets/x"} instead of the value itself,
 * so that the configuration can be shown, committed or logged while the
 * secrets live where the platform keeps them (the environment, a Docker or
 * Kubernetes secret file, systemd's credentials directory).
 *
 * Every message names the variable or the file, never the value: the caller
 * prefixes the key ("sinks[2].secret: environment variable WEBHOOK_SECRET
 * is not set"). Values are read when asked for, never cached here, so that
 * asking again (secdet run's SIGHUP) sees a rotated secret. docs/sinks.md,
 * "Secrets", says which keys take references and why the rules below.
 */
#ifndef SECDET_UTIL_SECRET_H
#define SECDET_UTIL_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include "util/limits.h"

typedef struct cJSON cJSON;

/* Whether v is written as a reference: an object whose only member is
 * "env" or "file" (of any type: sd_secret_read says what is wrong with it). */
bool sd_secret_is_ref(const cJSON *v);

/* The value v stands for: a string as it is (copied), or what its
 * reference names — an environment variable's value, or a file's contents
 * without one trailing "\n" or "\r\n". A reference is refused when its
 * value is empty or holds a NUL byte, and a file when it is not a regular
 * file (a FIFO would block) or is larger than LIMIT_SECRET_FILE_BYTES.
 * A relative file path is relative to the working directory.
 *
 * 0 with *out malloc'd (free it with sd_secret_free), or -1 with a message in
 * err. When a file is readable or writable by every user, warn (if not
 * NULL) gets a sentence saying so; warn[0] is 0 otherwise. */
int sd_secret_read(const cJSON *v, char **out, char *err, size_t errlen, char *warn, size_t warnlen);

/* Overwrites s (a NUL-terminated string) with zeros and frees it; NULL is fine. */
void sd_secret_free(char *s);

/* Overwrites every string value in the tree with zeros, e.g. before
 * cJSON_Delete of a configuration that held resolved secrets. */
void sd_secret_wipe_tree(cJSON *v);

#endif
