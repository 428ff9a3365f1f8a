/* sources.h — the engine's extension for formats: custom formats registered
 * by the embedding program, and the decoder each source gets (sources.c).
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

typedef struct engine_ext {
    secdet_engine *engine;
    custom_format **formats; /* each allocated alone: decoders keep pointers */
    size_t nformats, cap_formats;
} engine_ext;

/* The engine's extension, allocated on first use (NULL when out of memory). */
engine_ext *sd_engine_ext_get(secdet_engine *e);

/* The decoder and default time field of a new source with options `o`
 * (o->format_name resolved against built-in and custom formats).
 * SECDET_ERR_INVALID_ARG for an unknown format, SECDET_ERR_NOMEM. */
secdet_status sd_engine_source_decoder(secdet_engine *e, const secdet_source_opts *o, decoder **dec,
                                       const char **time_default);

#endif
