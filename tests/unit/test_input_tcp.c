/* test_input_tcp.c — the TCP and UDP inputs through the public API:
 * secdet_tcp_opts defaults, the words of secdet_input_error for listeners
 * that cannot start, the input log's warnings, and max_connections on a
 * real socket with the engine's own loop (driven turn by turn here, with a
 * timer as a guard so that no wait is unbounded). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "secdet.h"

typedef struct log_lines {
    char text[8][512];
    int n;
} log_lines;

static void on_log(void *user, const char *source, const char *message) {
    log_lines *l = user;
    assert_string_equal(source, "app");
    if (l->n < 8) snprintf(l->text[l->n++], sizeof l->text[0], "%s", message);
}

static secdet_engine *engine_with_source(void) {
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    secdet_source_opts o = {.format = SECDET_FMT_JSONL};
    assert_int_equal(secdet_source_add(e, "app", &o), SECDET_OK);
    return e;
}

/* A listening socket on 127.0.0.1 that holds a port. */
static int hold_port(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_opts_init_gives_the_documented_defaults(void **state) {
    (void)state;
    secdet_tcp_opts o;
    memset(&o, 0x5a, sizeof o);
    secdet_tcp_opts_init(&o);
    assert_int_equal(o.framing, SECDET_FRAMING_LINES);
    assert_int_equal(o.max_connections, 1024);
    assert_int_equal(o.idle_timeout_ms, 0);
    assert_int_equal(o.tls_handshake_timeout_ms, 10000);
    assert_null(o.tls_cert);
    assert_null(o.tls_key);
    assert_null(o.tls_key_passphrase);
    assert_null(o.tls_client_ca);
    assert_int_equal(o.tls_require_client_cert, 0);
}

static void test_a_port_in_use_is_named_and_the_error_cleared_by_a_success(void **state) {
    (void)state;
    secdet_engine *e = engine_with_source();
    assert_string_equal(secdet_input_error(e), "");
    uint16_t port;
    int held = hold_port(&port);
    assert_int_equal(secdet_input_tcp_ex(e, "app", "127.0.0.1", port, NULL, NULL, NULL), SECDET_ERR_IO);
    char want[96];
    snprintf(want, sizeof want, "tcp address 127.0.0.1:%u is already in use", (unsigned)port);
    assert_string_equal(secdet_input_error(e), want);
    /* secdet_input_tcp, the old call, fails the same way and says so too */
    assert_int_equal(secdet_input_tcp(e, "app", "127.0.0.1", port, SECDET_FRAMING_LINES, NULL, NULL), SECDET_ERR_IO);
    assert_string_equal(secdet_input_error(e), want);
    unsigned id = 0;
    assert_int_equal(secdet_input_tcp(e, "app", "127.0.0.1", 0, SECDET_FRAMING_LINES, NULL, &id), SECDET_OK);
    assert_string_equal(secdet_input_error(e), "");
    assert_int_not_equal(secdet_input_port(e, id), 0);
    close(held);
    secdet_engine_free(e);
}

static void test_bad_arguments_are_named(void **state) {
    (void)state;
    secdet_engine *e = engine_with_source();
    assert_int_equal(secdet_input_tcp_ex(e, "nope", "127.0.0.1", 0, NULL, NULL, NULL), SECDET_ERR_UNKNOWN_SOURCE);
    assert_string_equal(secdet_input_error(e), "source \"nope\" was never added (secdet_source_add)");
    assert_int_equal(secdet_input_udp(e, "app", "example.com", 0, NULL, NULL), SECDET_ERR_INVALID_ARG);
    assert_string_equal(secdet_input_error(e),
                        "address \"example.com\" is not an IPv4 or IPv6 address (names are not resolved)");
    secdet_tcp_opts o;
    secdet_tcp_opts_init(&o);
    o.tls_cert = "/nonexistent/cert.pem";
    assert_int_equal(secdet_input_tcp_ex(e, "app", "127.0.0.1", 0, &o, NULL, NULL), SECDET_ERR_INVALID_ARG);
    assert_string_equal(secdet_input_error(e), "tls: cert and key are both required");
    o.tls_key = "/nonexistent/key.pem";
    assert_int_equal(secdet_input_tcp_ex(e, "app", "127.0.0.1", 0, &o, NULL, NULL), SECDET_ERR_INVALID_ARG);
    assert_string_equal(secdet_input_error(e),
                        "tls.cert /nonexistent/cert.pem: cannot read the certificate: No such file or directory");
    o.tls_require_client_cert = 1;
    assert_int_equal(secdet_input_tcp_ex(e, "app", "127.0.0.1", 0, &o, NULL, NULL), SECDET_ERR_INVALID_ARG);
    assert_non_null(strstr(secdet_input_error(e), "require_client_cert needs client_ca"));
    o = (secdet_tcp_opts){.framing = (secdet_framing)7};
    assert_int_equal(secdet_input_tcp_ex(e, "app", "127.0.0.1", 0, &o, NULL, NULL), SECDET_ERR_INVALID_ARG);
    assert_string_equal(secdet_input_error(e), "framing: unknown value 7");
    secdet_engine_free(e);
}

static void test_plain_listeners_beyond_loopback_warn_in_the_input_log(void **state) {
    (void)state;
    secdet_engine *e = engine_with_source();
    log_lines l = {.n = 0};
    assert_int_equal(secdet_set_input_log(e, on_log, &l), SECDET_OK);
    /* Few connections: no warning about the descriptor limit, whatever this process's is. */
    secdet_tcp_opts o = {.max_connections = 16};
    assert_int_equal(secdet_input_tcp_ex(e, "app", "127.0.0.1", 0, &o, NULL, NULL), SECDET_OK);
    assert_int_equal(secdet_input_udp(e, "app", "::1", 0, NULL, NULL), SECDET_OK);
    assert_int_equal(l.n, 0);
    unsigned tcp = 0, udp = 0;
    assert_int_equal(secdet_input_tcp_ex(e, "app", "0.0.0.0", 0, &o, NULL, &tcp), SECDET_OK);
    assert_int_equal(secdet_input_udp(e, "app", "0.0.0.0", 0, NULL, &udp), SECDET_OK);
    assert_int_equal(l.n, 2);
    char want[128]; /* the labels carry the ports bound */
    snprintf(want, sizeof want, "tcp 0.0.0.0:%u: warning: listening beyond loopback without TLS",
             (unsigned)secdet_input_port(e, tcp));
    assert_memory_equal(l.text[0], want, strlen(want));
    snprintf(want, sizeof want, "udp 0.0.0.0:%u: warning: listening beyond loopback: UDP has no TLS",
             (unsigned)secdet_input_port(e, udp));
    assert_memory_equal(l.text[1], want, strlen(want));
    secdet_engine_free(e);
}

/* ---- max_connections on a real socket ---------------------------------------------------- */

typedef struct guard {
    int fired;
} guard;

static void on_guard(uv_timer_t *t) { ((guard *)t->data)->fired = 1; }

static int client(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void test_a_limit_above_the_descriptor_limit_is_warned_about(void **state) {
    (void)state;
    secdet_engine *e = engine_with_source();
    log_lines l = {.n = 0};
    secdet_set_input_log(e, on_log, &l);
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    secdet_tcp_opts o = {.max_connections = rl.rlim_cur == RLIM_INFINITY ? 1000000u : (unsigned)rl.rlim_cur};
    assert_int_equal(secdet_input_tcp_ex(e, "app", "127.0.0.1", 0, &o, NULL, NULL), SECDET_OK);
    if (rl.rlim_cur != RLIM_INFINITY) {
        assert_int_equal(l.n, 1);
        assert_non_null(strstr(l.text[0], "is close to or above the process's file descriptor limit"));
    }
    secdet_engine_free(e);
}

static void test_the_client_beyond_max_connections_is_closed_at_once_and_counted(void **state) {
    (void)state;
    secdet_engine *e = engine_with_source();
    log_lines l = {.n = 0};
    secdet_set_input_log(e, on_log, &l);
    secdet_tcp_opts o;
    secdet_tcp_opts_init(&o);
    o.max_connections = 1;
    unsigned id = 0;
    assert_int_equal(secdet_input_tcp_ex(e, "app", "127.0.0.1", 0, &o, NULL, &id), SECDET_OK);
    uint16_t port = secdet_input_port(e, id);
    int first = client(port), second = client(port);

    uv_loop_t *loop = secdet_loop(e);
    guard g = {0};
    uv_timer_t timer;
    uv_timer_init(loop, &timer);
    timer.data = &g;
    uv_timer_start(&timer, on_guard, 10000, 0);
    secdet_stats s;
    do {
        uv_run(loop, UV_RUN_ONCE);
        secdet_stats_get(e, &s);
    } while (!g.fired && (s.connections != 1 || s.connections_refused != 1));
    assert_false(g.fired);
    assert_int_equal(s.connections, 1);
    assert_int_equal(s.connections_refused, 1);
    char c;
    assert_int_equal(recv(second, &c, 1, 0), 0); /* closed by the server, at once */
    assert_non_null(strstr(l.text[0], "refused: 1 connections open (max_connections)"));

    close(first);
    close(second);
    uv_close((uv_handle_t *)&timer, NULL);
    secdet_engine_free(e); /* closes the engine's own loop */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts_init_gives_the_documented_defaults),
        cmocka_unit_test(test_a_port_in_use_is_named_and_the_error_cleared_by_a_success),
        cmocka_unit_test(test_bad_arguments_are_named),
        cmocka_unit_test(test_plain_listeners_beyond_loopback_warn_in_the_input_log),
        cmocka_unit_test(test_a_limit_above_the_descriptor_limit_is_warned_about),
        cmocka_unit_test(test_the_client_beyond_max_connections_is_closed_at_once_and_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
