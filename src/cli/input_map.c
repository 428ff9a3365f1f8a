/*
 * input_map.c — a regular, uncompressed file mapped whole, so `secdet scan`
 * hands the engine the page cache's bytes instead of a copy.
 *
 * read(2) copies every byte from the page cache into our buffer; for JSON
 * lines scanned at about a gigabyte a second that copy was a sixth of the
 * run (issue 22). A mapping gives the same bytes without it. Only a regular
 * file that is not gzip (by its magic bytes) is mapped; anything else — stdin,
 * a pipe, a FIFO, an empty or a gzip file, a mapping the kernel refuses —
 * answers "not mapped" and is read as before (input.c), so the caller never
 * has an error of its own to report here.
 *
 * A mapped file is read as it was when it was opened (its size then). A file
 * truncated while it is being scanned would make the kernel raise SIGBUS on
 * the missing pages, as with every mapped read; log files are appended to,
 * not truncated, and `secdet scan` reads a file once, start to end.
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

int cli_map_open(const char *path, cli_map *m) {
    memset(m, 0, sizeof *m);
    if (strcmp(path, "-") == 0) {
        return 0;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0; /* input.c opens it again and words the error */
    }
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 2 && (uintmax_t)st.st_size <= SIZE_MAX) {
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    }
    close(fd); /* the mapping keeps the file */
    if (p == MAP_FAILED) {
        return 0;
    }
    const unsigned char *b = p;
    if (b[0] == 0x1f && b[1] == 0x8b) { /* gzip: inflated as it is read (input.c) */
        munmap(p, (size_t)st.st_size);
        return 0;
    }
    (void)madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
    m->data = b;
    m->len = (size_t)st.st_size;
    return 1;
}

void cli_map_close(cli_map *m) {
    if (m->data) {
        munmap((void *)(uintptr_t)m->data, m->len);
    }
    memset(m, 0, sizeof *m);
}
