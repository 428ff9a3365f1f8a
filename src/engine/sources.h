/* engine_sources.h — the engine's extension for formats and inputs: custom
 * formats registered by the embedding program, the decoder each source gets
 * (engine_sources.c), and the event loop inputs' state (src/io/).
 *
 * It hangs off secdet_engine.ext, allocated on first use, so an engine that
 * uses neither costs one NULL pointer.
 */
#ifndef SECDET_ENGINE_SOURCES_H
#define SECDET_ENGINE_SOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"

typedef struct custom_format {
    char *name;
    secdet_decode_fn fn;
    void *user;
    struct engine_ext *ext; /* back to the engine, for the emitter */
} custom_format;

struct io_state;

typedef struct engine_ext {
    secdet_engine *engine;
    custom_format **formats; /* each allocated alone: decoders keep pointers */
    size_t nformats, cap_formats;
    struct io_state *io;     /* NULL until the first input */
    size_t queue_max_messages, queue_max_bytes; /* 0: defaults */
    secdet_input_log_fn input_log; /* src/io/io_log.c */
    void *input_log_user;
    char input_error[256];   /* why the last secdet_input_* call failed; "" after a success */
} engine_ext;

/* The engine's extension, allocated on first use (NULL when out of memory). */
engine_ext *engine_ext_get(secdet_engine *e);

/* The decoder and default time field of a new source with options `o`
 * (o->format_name resolved against built-in and custom formats).
 * SECDET_ERR_INVALID_ARG for an unknown format, SECDET_ERR_NOMEM. */
secdet_status engine_source_decoder(secdet_engine *e, const secdet_source_opts *o, decoder **dec,
                                    const char **time_default);

/* src/io/io.c: closes every input (their memory is released by the loop). */
void io_free(engine_ext *x);

#endif
