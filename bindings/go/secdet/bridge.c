/*
 * bridge.c — trampolines from libsecdet's C callbacks into Go (see bridge.h).
 */
#include "bridge.h"

#include "_cgo_export.h"

static void on_alert(void *user, const secdet_alert *alert) {
    gosecdet_ctx *c = user;
    c->alerts++;
    if (!c->deliver) return;
    size_t len = 0;
    const char *json = secdet_alert_json(alert, &len);
    goSecdetAlert(c->handle, (char *)json, len);
}

static void on_error(void *user, const char *source, uint64_t where, const char *message) {
    gosecdet_ctx *c = user;
    goSecdetError(c->handle, (char *)source, where, (char *)message);
}

static void on_sink_log(void *user, const char *sink, const char *message) {
    gosecdet_ctx *c = user;
    goSecdetSinkLog(c->handle, (char *)sink, (char *)message);
}

secdet_status gosecdet_attach(secdet_engine *e, gosecdet_ctx *ctx) {
    secdet_status st = secdet_set_alert_callback(e, on_alert, ctx);
    if (st != SECDET_OK) return st;
    return secdet_set_error_callback(e, on_error, ctx);
}

secdet_status gosecdet_set_sink_log(secdet_engine *e, gosecdet_ctx *ctx) {
    return secdet_set_sink_log(e, on_sink_log, ctx);
}

static void sink_emit(void *self, secdet_delivery *d) { goSecdetSinkEmit((uintptr_t)self, d); }
static void sink_flush(void *self) { goSecdetSinkFlush((uintptr_t)self); }
static void sink_close(void *self) { goSecdetSinkClose((uintptr_t)self); }

static const secdet_sink_vtable sink_vtable = {NULL, sink_emit, sink_flush, sink_close};

secdet_status gosecdet_sink_new(uintptr_t handle, const secdet_sink_opts *opts, secdet_sink **out) {
    return secdet_sink_new(&sink_vtable, (void *)handle, opts, out);
}

void gosecdet_delivery_done(secdet_delivery *d, int result, int64_t retry_after_ms, const char *error) {
    secdet_delivery_result r = {(secdet_sink_result)result, retry_after_ms, error};
    secdet_delivery_done(d, &r);
}

secdet_status gosecdet_source_add(secdet_engine *e, const char *name, const char *format_name, const char *time_field,
                                  const char *log_type) {
    secdet_source_opts o = {SECDET_FMT_AUTO, time_field, format_name, log_type};
    return secdet_source_add(e, name, &o);
}
