/*
 * term.c — terminal detection, colour policy, safe printing, progress bar.
 *
 * The progress bar lives on stderr (the command decides when: cmd_scan.c), redraws
 * at most ten times a second (drawing costs more than scanning a megabyte),
 * always fits on one line (a wrapped bar cannot be erased with \r), and is
 * erased before anything else is printed on stderr and at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

#define PROGRESS_INTERVAL_S 0.1
#define BAR_CELLS           24

int term_is_tty(int fd) { return isatty(fd) == 1; }

int term_colour_ok(int fd) {
    const char *no_colour = getenv("NO_COLOR");
    if (no_colour != NULL && no_colour[0] != '\0') {
        return 0;
    }
    const char *term = getenv("TERM");
    if (term != NULL && strcmp(term, "dumb") == 0) {
        return 0;
    }
    return term_is_tty(fd);
}

int term_width(int fd) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        return ws.ws_col;
    }
    return 80;
}

double term_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void term_write_safe(void *out_stream, const char *s) { term_write_safe_n(out_stream, s, strlen(s)); }

void term_write_safe_n(void *out_stream, const char *s, size_t n) {
    FILE *out = out_stream;
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        if (*p < 0x20 || *p == 0x7f) {
            putc('?', out);
            p++;
        } else if (*p == 0xc2 && p + 1 < end && p[1] >= 0x80 && p[1] <= 0x9f) {
            /* U+0080..U+009F: C1 controls, which some terminals obey. */
            putc('?', out);
            p += 2;
        } else {
            putc(*p, out);
            p++;
        }
    }
}

void term_progress_init(term_progress *p, int enabled) {
    p->enabled = enabled;
    p->shown = 0;
    p->last_draw = 0;
    p->started = term_now();
}

/* "12.3 MiB" into buf. */
static void format_bytes(char *buf, size_t len, unsigned long long bytes) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    if (u == 0) {
        snprintf(buf, len, "%llu B", bytes);
    } else {
        snprintf(buf, len, "%.1f %s", v, units[u]);
    }
}

void term_progress_update(term_progress *p, const term_progress_state *s, int force) {
    if (!p->enabled) {
        return;
    }
    double now = term_now();
    if (!force && p->shown && now - p->last_draw < PROGRESS_INTERVAL_S) {
        return;
    }
    p->last_draw = now;

    char line[512];
    char done[32];
    char total[32];
    format_bytes(done, sizeof done, s->bytes_done);
    int n;
    if (s->bytes_total > 0) {
        unsigned long long d = s->bytes_done > s->bytes_total ? s->bytes_total : s->bytes_done;
        int cells = (int)((double)d / (double)s->bytes_total * BAR_CELLS);
        char bar[BAR_CELLS + 1];
        for (int i = 0; i < BAR_CELLS; i++) {
            bar[i] = i < cells ? '#' : '.';
        }
        bar[BAR_CELLS] = '\0';
        format_bytes(total, sizeof total, s->bytes_total);
        n = snprintf(line, sizeof line, "[%s] %3d%%  %s / %s  %llu %s  %llu %s  %s", bar,
                     (int)((double)d * 100.0 / (double)s->bytes_total), done, total, s->events,
                     cli_plural(s->events, "event", "events"), s->alerts, cli_plural(s->alerts, "alert", "alerts"),
                     s->file ? s->file : "");
    } else {
        n = snprintf(line, sizeof line, "%s  %llu %s  %llu %s  %s", done, s->events,
                     cli_plural(s->events, "event", "events"), s->alerts, cli_plural(s->alerts, "alert", "alerts"),
                     s->file ? s->file : "");
    }
    if (n < 0) {
        return;
    }
    /* Never wrap: a wrapped line could not be erased by the next \r. */
    size_t width = (size_t)term_width(STDERR_FILENO);
    size_t len = strlen(line);
    if (width > 1 && len > width - 1) {
        len = width - 1;
    }
    fputs("\r\033[K", stderr);
    fwrite(line, 1, len, stderr);
    fflush(stderr);
    p->shown = 1;
}

void term_progress_clear(term_progress *p) {
    if (p->enabled && p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->shown = 0;
    }
}
