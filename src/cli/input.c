/*
 * input.c — reading a file or stdin, plain or gzip, in pieces.
 *
 * gzip is recognised by its magic bytes (1f 8b), not by the file name, so
 * `zcat`-less pipes and misnamed files work. We inflate here rather than let
 * the library do it because the library wants a whole gzip stream in one
 * push; inflating as we read keeps memory bounded for multi-gigabyte files.
 * Concatenated gzip members (what `cat a.gz b.gz` makes) are all read.
 * A read returns as soon as some bytes are available, so events piped in
 * are evaluated as they arrive.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cli/cli.h"

#define INPUT_BUFFER_BYTES (256u * 1024u)

struct cli_input {
    int fd;
    int owns_fd;
    int gzip;
    int z_ready;       /* inflateInit2 done */
    int z_member_open; /* inside a gzip member (not at its end) */
    int eof;           /* read(2) returned 0 */
    z_stream z;
    unsigned char *buf; /* raw bytes read but not yet used */
    size_t buf_pos;
    size_t buf_len;
    unsigned long long consumed;
    unsigned long long size;
    char error[160];
};

static void set_error(cli_input *in, const char *what) { snprintf(in->error, sizeof in->error, "%s", what); }

/* Refills the raw buffer; 1 bytes read, 0 end of file, -1 error. */
static int fill(cli_input *in) {
    if (in->eof) {
        return 0;
    }
    for (;;) {
        ssize_t n = read(in->fd, in->buf, INPUT_BUFFER_BYTES);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            set_error(in, strerror(errno));
            return -1;
        }
        in->buf_pos = 0;
        in->buf_len = (size_t)n;
        in->consumed += (unsigned long long)n;
        if (n == 0) {
            in->eof = 1;
            return 0;
        }
        return 1;
    }
}

cli_input *cli_input_open(const char *path) {
    cli_input *in = calloc(1, sizeof *in);
    if (in == NULL) {
        return NULL;
    }
    in->buf = malloc(INPUT_BUFFER_BYTES);
    if (in->buf == NULL) {
        free(in);
        errno = ENOMEM;
        return NULL;
    }
    if (strcmp(path, "-") == 0) {
        in->fd = STDIN_FILENO;
    } else {
        in->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (in->fd < 0) {
            int saved = errno;
            free(in->buf);
            free(in);
            errno = saved;
            return NULL;
        }
        in->owns_fd = 1;
    }
    struct stat st;
    if (fstat(in->fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            cli_input_close(in);
            errno = EISDIR;
            return NULL;
        }
        if (S_ISREG(st.st_mode)) {
            in->size = (unsigned long long)st.st_size;
        }
    }
    /* Peek at the first two bytes; a pipe may deliver them one at a time. */
    while (in->buf_len < 2 && !in->eof) {
        ssize_t n = read(in->fd, in->buf + in->buf_len, INPUT_BUFFER_BYTES - in->buf_len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int saved = errno;
            cli_input_close(in);
            errno = saved;
            return NULL;
        }
        if (n == 0) {
            in->eof = 1;
        }
        in->buf_len += (size_t)n;
        in->consumed += (unsigned long long)n;
    }
    in->gzip = in->buf_len >= 2 && in->buf[0] == 0x1f && in->buf[1] == 0x8b;
    if (in->gzip) {
        /* 16 + 15: gzip wrapper, the largest window. */
        if (inflateInit2(&in->z, 16 + 15) != Z_OK) {
            cli_input_close(in);
            errno = ENOMEM;
            return NULL;
        }
        in->z_ready = 1;
        in->z_member_open = 1;
    }
    return in;
}

static long read_plain(cli_input *in, unsigned char *out, size_t cap) {
    if (in->buf_pos == in->buf_len) {
        int r = fill(in);
        if (r <= 0) {
            return r;
        }
    }
    size_t n = in->buf_len - in->buf_pos;
    if (n > cap) {
        n = cap;
    }
    memcpy(out, in->buf + in->buf_pos, n);
    in->buf_pos += n;
    return (long)n;
}

static long read_gzip(cli_input *in, unsigned char *out, size_t cap) {
    if (cap > (size_t)UINT32_MAX) {
        cap = UINT32_MAX;
    }
    for (;;) {
        if (in->buf_pos == in->buf_len) {
            int r = fill(in);
            if (r < 0) {
                return -1;
            }
            if (r == 0) {
                if (in->z_member_open) {
                    set_error(in, "unexpected end of gzip data (truncated file?)");
                    return -1;
                }
                return 0;
            }
        }
        if (!in->z_member_open) {
            /* Another member follows the one that ended. */
            if (inflateReset(&in->z) != Z_OK) {
                set_error(in, "cannot restart gzip decoder");
                return -1;
            }
            in->z_member_open = 1;
        }
        in->z.next_in = in->buf + in->buf_pos;
        in->z.avail_in = (uInt)(in->buf_len - in->buf_pos);
        in->z.next_out = out;
        in->z.avail_out = (uInt)cap;
        int zr = inflate(&in->z, Z_NO_FLUSH);
        size_t used = (in->buf_len - in->buf_pos) - in->z.avail_in;
        in->buf_pos += used;
        size_t produced = cap - in->z.avail_out;
        if (zr == Z_STREAM_END) {
            in->z_member_open = 0;
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            snprintf(in->error, sizeof in->error, "corrupt gzip data: %s", in->z.msg ? in->z.msg : "inflate failed");
            return -1;
        }
        if (produced > 0) {
            return (long)produced;
        }
    }
}

long cli_input_read(cli_input *in, void *buf, size_t cap) {
    if (cap == 0) {
        return 0;
    }
    if (cap > (size_t)(((unsigned long)-1) >> 1)) {
        cap = ((unsigned long)-1) >> 1;
    }
    return in->gzip ? read_gzip(in, buf, cap) : read_plain(in, buf, cap);
}

const char *cli_input_error(const cli_input *in) { return in->error[0] ? in->error : "read error"; }

unsigned long long cli_input_consumed(const cli_input *in) { return in->consumed; }

unsigned long long cli_input_size(const cli_input *in) { return in->size; }

void cli_input_close(cli_input *in) {
    if (in == NULL) {
        return;
    }
    if (in->z_ready) {
        inflateEnd(&in->z);
    }
    if (in->owns_fd) {
        close(in->fd);
    }
    free(in->buf);
    free(in);
}
