/* secret.c — reading secret references (secret.h).
 *
 * A file is opened without blocking (a FIFO must not hang a start or a
 * SIGHUP), checked to be a regular file of a sane size, and read whole.
 * Symlinks are followed: Kubernetes mounts each secret as a symlink into
 * a directory it swaps atomically on rotation, and that is exactly what a
 * re-read should see. Permissions are only warned about, never refused
 * (docs/sinks.md, "Secrets", argues why), and only for "every user":
 * group access is how containers and service accounts share a secret.
 */
#include "util/secret.h"
#include "util/limits.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

bool sd_secret_is_ref(const cJSON *v) {
    if (!cJSON_IsObject(v) || !v->child || v->child->next || !v->child->string) return false;
    return strcmp(v->child->string, "env") == 0 || strcmp(v->child->string, "file") == 0;
}

void sd_secret_free(char *s) {
    if (!s) return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void sd_secret_wipe_tree(cJSON *v) {
    for (; v; v = v->next) {
        if (cJSON_IsString(v) && v->valuestring) OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
        sd_secret_wipe_tree(v->child);
    }
}

static int fail(char *err, size_t errlen, const char *what, const char *name, const char *why) {
    snprintf(err, errlen, "%s%.200s%s", what, name, why);
    return -1;
}

static int read_env(const char *name, char **out, char *err, size_t errlen) {
    if (!*name || strchr(name, '=') || strlen(name) > 255)
        return fail(err, errlen, "env: expected the name of an environment variable", "", "");
    const char *v = getenv(name);
    if (!v) return fail(err, errlen, "environment variable ", name, " is not set");
    if (!*v) return fail(err, errlen, "environment variable ", name, " is empty");
    *out = strdup(v);
    return *out ? 0 : fail(err, errlen, "out of memory", "", "");
}

static void perm_warning(const char *path, mode_t mode, char *warn, size_t warnlen) {
    if (!warn || !(mode & (S_IROTH | S_IWOTH))) return;
    snprintf(warn, warnlen, "%.200s is %s by every user (mode %04o); chmod o-rw it", path,
             (mode & S_IROTH) && (mode & S_IWOTH) ? "readable and writable"
             : (mode & S_IROTH)                   ? "readable"
                                                  : "writable",
             (unsigned)(mode & 07777));
}

static int read_file(const char *path, char **out, char *err, size_t errlen, char *warn, size_t warnlen) {
    if (!*path) return fail(err, errlen, "file: expected a path", "", "");
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read %.200s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    char *data = NULL;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot read %.200s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        fail(err, errlen, "", path, " is not a regular file");
    } else if (st.st_size > LIMIT_SECRET_FILE_BYTES) {
        fail(err, errlen, "", path, " is larger than 64 KiB (a secret file holds one value)");
    } else if (!(data = malloc(LIMIT_SECRET_FILE_BYTES + 2))) {
        fail(err, errlen, "out of memory", "", "");
    } else {
        /* Read to the end, not st_size: the file may have changed since. */
        size_t n = 0;
        for (;;) {
            ssize_t r = read(fd, data + n, LIMIT_SECRET_FILE_BYTES + 1 - n);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                snprintf(err, errlen, "cannot read %.200s: %s", path, strerror(errno));
                break;
            }
            n += (size_t)r;
            if (r == 0 || n > LIMIT_SECRET_FILE_BYTES) {
                rc = 0;
                break;
            }
        }
        if (rc == 0 && n > LIMIT_SECRET_FILE_BYTES) {
            rc = fail(err, errlen, "", path, " is larger than 64 KiB (a secret file holds one value)");
        } else if (rc == 0) {
            /* One trailing newline: what `echo` and most editors add. */
            if (n && data[n - 1] == '\n') n -= n > 1 && data[n - 2] == '\r' ? 2 : 1;
            data[n] = 0;
            if (memchr(data, 0, n))
                rc = fail(err, errlen, "", path, " holds a NUL byte");
            else if (n == 0)
                rc = fail(err, errlen, "", path, " is empty");
        }
        if (rc == 0) perm_warning(path, st.st_mode, warn, warnlen);
    }
    close(fd);
    if (rc != 0 && data) {
        OPENSSL_cleanse(data, LIMIT_SECRET_FILE_BYTES + 2);
        free(data);
        data = NULL;
    }
    *out = data;
    return rc;
}

int sd_secret_read(const cJSON *v, char **out, char *err, size_t errlen, char *warn, size_t warnlen) {
    *out = NULL;
    if (warn && warnlen) warn[0] = 0;
    if (cJSON_IsString(v)) {
        *out = strdup(v->valuestring);
        return *out ? 0 : fail(err, errlen, "out of memory", "", "");
    }
    if (!sd_secret_is_ref(v))
        return fail(err, errlen, "expected a string, {\"env\": NAME} or {\"file\": PATH}", "", "");
    const cJSON *m = v->child;
    bool env = strcmp(m->string, "env") == 0;
    if (!cJSON_IsString(m) || !m->valuestring)
        return fail(err, errlen, env ? "env: expected the name of an environment variable" : "file: expected a path",
                    "", "");
    return env ? read_env(m->valuestring, out, err, errlen)
               : read_file(m->valuestring, out, err, errlen, warn, warnlen);
}
