/*
 * parse_only.c — baseline (a) of the benchmark: the cost of reading and
 * parsing JSON lines, with no evaluation at all.
 *
 * It reads FILE (or stdin for "-") the way `secdet scan` reads JSON lines —
 * read(2) in 1 MiB chunks, memchr for the newlines, a partial line carried
 * to the next chunk — and for every non-blank line calls cJSON_ParseWithLength
 * and cJSON_Delete, nothing else.  `secdet scan`'s rate divided by this one is
 * therefore the share of time left after evaluation, alert building and
 * dispatch are added to the same I/O and the same parser.
 *
 * Prints "events N malformed M" on stderr; exit 0 when it ran, 2 on I/O error.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CHUNK = 1 << 20 };

typedef struct counts {
    uint64_t events;
    uint64_t malformed;
} counts;

static void parse_line(const char *s, size_t n, counts *c) {
    if (n > 0 && s[n - 1] == '\r') n--;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i == n) return; /* blank lines are skipped, as the jsonl decoder does */
    cJSON *j = cJSON_ParseWithLength(s, n);
    if (j != NULL && cJSON_IsObject(j))
        c->events++;
    else
        c->malformed++;
    cJSON_Delete(j);
}

/* Parses every complete line of buf[0..len); returns the bytes consumed. */
static size_t parse_lines(const char *buf, size_t len, counts *c) {
    size_t start = 0;
    for (;;) {
        const char *nl = memchr(buf + start, '\n', len - start);
        if (nl == NULL) return start;
        size_t end = (size_t)(nl - buf);
        parse_line(buf + start, end - start, c);
        start = end + 1;
    }
}

static int run(int fd, counts *c) {
    size_t cap = 2 * (size_t)CHUNK, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) return -1;
    for (;;) {
        if (cap - len < CHUNK) {
            /* A line longer than what is held: grow so one more chunk fits. */
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, CHUNK);
        if (r < 0) {
            if (errno == EINTR) continue;
            free(buf);
            return -1;
        }
        if (r == 0) break;
        len += (size_t)r;
        size_t used = parse_lines(buf, len, c);
        memmove(buf, buf + used, len - used);
        len -= used;
    }
    if (len > 0) parse_line(buf, len, c); /* a last line without a newline */
    free(buf);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: parse_only FILE|-\n");
        return 2;
    }
    int fd = strcmp(argv[1], "-") == 0 ? STDIN_FILENO : open(argv[1], O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "parse_only: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    counts c = {0, 0};
    int rc = run(fd, &c);
    if (fd != STDIN_FILENO) close(fd);
    if (rc != 0) {
        fprintf(stderr, "parse_only: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    fprintf(stderr, "events %llu malformed %llu\n", (unsigned long long)c.events, (unsigned long long)c.malformed);
    return 0;
}
