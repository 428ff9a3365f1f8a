/*
 * bridge.h — the C side of the Go binding: the trampolines that libsecdet
 * calls (alert, error, sink log, sink vtable), which forward to the Go
 * functions exported in callbacks.go.
 *
 * No Go pointer ever reaches C: every callback's `user` is either a
 * gosecdet_ctx allocated with C.calloc or a runtime/cgo.Handle (an integer)
 * carried in a void *.
 */
#ifndef GOSECDET_BRIDGE_H
#define GOSECDET_BRIDGE_H

#include <secdet.h>
#include <stdint.h>

/* Per engine, in C memory; written by Go only while it holds the engine's
 * lock, read by the alert callback on the same thread during a call. */
typedef struct gosecdet_ctx {
    uintptr_t handle; /* cgo.Handle of the Go engine state */
    int deliver;      /* 1: hand every alert to Go; 0: only count it */
    uint64_t alerts;  /* alerts seen by the synchronous callback */
} gosecdet_ctx;

/* Installs the alert and error callbacks with ctx as their user pointer. */
secdet_status gosecdet_attach(secdet_engine *e, gosecdet_ctx *ctx);
/* Installs the sink log callback (before the first sink is added). */
secdet_status gosecdet_set_sink_log(secdet_engine *e, gosecdet_ctx *ctx);
/* A sink whose emit, flush and close call the Go sink behind `handle`. */
secdet_status gosecdet_sink_new(uintptr_t handle, const secdet_sink_opts *opts, secdet_sink **out);
/* secdet_delivery_done without a Go-allocated result struct. */
void gosecdet_delivery_done(secdet_delivery *d, int result, int64_t retry_after_ms, const char *error);
/* The format's default: opts with format AUTO and format_name (may be NULL). */
secdet_status gosecdet_source_add(secdet_engine *e, const char *name, const char *format_name, const char *time_field,
                                  const char *log_type);

#endif
