/*
 * input_map.c — a regular, uncompressed file read through mappings of the
 * page cache, so `secdet scan` hands the engine the cached bytes instead of
 * a copy of them.
 *
 * read(2) copies every byte from the page cache into our buffer; for JSON
 * lines scanned at over a gigabyte a second that copy was a sixth of the
 * run (issue 22). A mapping gives the same bytes without it. Only a regular
 * file that is not gzip (by its magic bytes) is mapped; anything else —
 * stdin, a pipe, a FIFO, an empty or a gzip file, a mapping the kernel
 * refuses — answers "not mapped" and is read as before (input.c), so the
 * caller never has an error of its own to report here.
 *
 * The file is mapped one window at a time (CLI_MAP_WINDOW bytes), the last
 * window unmapped before the next is mapped: the pages of a mapping count in
 * the process's resident size, and a whole multi-gigabyte file mapped at once
 * would look like (and, under a memory cgroup, be charged as) that much
 * memory. The engine keeps what it needs of a line cut by a window's end.
 *
 * A mapped file is read up to the size it had when it was opened. A file
 * truncated while it is being scanned makes the kernel raise SIGBUS on the
 * missing pages, as with every mapped read; log files are appended to, not
 * truncated, and `secdet scan` reads a file once, start to end. So that such
 * a file ends the run with a clear error (exit 2) rather than a crash, the
 * command catches SIGBUS once it maps a file (on_sigbus: only
 * async-signal-safe calls).
 */
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

#define CLI_MAP_WINDOW ((size_t)4 << 20) /* a multiple of every page size; one push each */

static void on_sigbus(int sig) {
    static const char msg[] = "secdet: an input file was truncated while it was being read (mapped); "
                              "scan a file that may shrink as `secdet scan - < FILE`\n";
    (void)sig;
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(2);
}

int cli_map_open(const char *path, cli_map *m) {
    memset(m, 0, sizeof *m);
    m->fd = -1;
    if (strcmp(path, "-") == 0) {
        return 0;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0; /* input.c opens it again and words the error */
    }
    struct stat st;
    unsigned char magic[2];
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 2 || (uintmax_t)st.st_size > SIZE_MAX ||
        pread(fd, magic, 2, 0) != 2 || (magic[0] == 0x1f && magic[1] == 0x8b)) { /* gzip: inflated as read */
        close(fd);
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGBUS, &sa, NULL);
    m->fd = fd;
    m->size = (size_t)st.st_size;
    return 1;
}

int cli_map_next(cli_map *m, const unsigned char **data, size_t *len) {
    if (m->data) {
        munmap((void *)(uintptr_t)m->data, m->len);
        m->data = NULL;
    }
    if (m->at >= m->size) {
        return 0;
    }
    size_t n = m->size - m->at < CLI_MAP_WINDOW ? m->size - m->at : CLI_MAP_WINDOW;
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, m->fd, (off_t)m->at);
    if (p == MAP_FAILED) {
        return -1;
    }
    (void)madvise(p, n, MADV_SEQUENTIAL);
    m->data = p;
    m->len = n;
    m->at += n;
    *data = m->data;
    *len = n;
    return 1;
}

void cli_map_close(cli_map *m) {
    if (m->data) {
        munmap((void *)(uintptr_t)m->data, m->len);
    }
    if (m->fd >= 0) {
        close(m->fd);
    }
    memset(m, 0, sizeof *m);
    m->fd = -1;
}
