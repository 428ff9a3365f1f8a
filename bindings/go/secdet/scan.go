package secdet

/*
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"unsafe"
)

// ScanChunkSize is how many bytes Scan reads and pushes at a time.
const ScanChunkSize = 1 << 20

// ScanResult counts what one Scan did.
type ScanResult struct {
	Bytes     int64  // bytes read from the reader and pushed
	Events    uint64 // events evaluated
	Alerts    uint64 // alerts fired
	Malformed uint64 // pieces of input skipped as malformed
	jobs      int    // ScanFile's
}

// Scan reads r to its end and pushes it to source in chunks of
// ScanChunkSize bytes (gzip input is inflated first; Bytes counts the
// inflated bytes), then ends the source's stream and flushes (see
// Flush): r is one complete input, like a file given to `secdet scan`.
//
// Alerts are not returned: they go to the handlers and channel given to New
// (WithAlertHandler, WithRawAlertHandler, WithAlertChannel) and to the
// sinks; ScanResult counts them. Without a handler or channel they never
// cross into Go, which keeps Scan at the speed of the C library.
//
// The Engine's lock is taken for each chunk, not for the whole scan, so
// Stats and other sources can be used meanwhile (do not push to the same
// source concurrently). The next chunk is read while the current one is
// evaluated; r is not used after Scan returns. ctx is checked between
// chunks: when it is done,
// Scan ends the source's stream (what was buffered is decoded, a partial
// last line or document reported as malformed), does not flush, and
// returns ctx.Err(). A Read that blocks is not interrupted by ctx.
//
// Malformed input is skipped and reported by an error wrapping ErrDecode
// (a *DecodeError) at the end, with everything else processed.
func (e *Engine) Scan(ctx context.Context, source string, r io.Reader) (ScanResult, error) {
	var res ScanResult
	var dec *DecodeError
	// libsecdet inflates gzip only when one push holds the whole stream;
	// a gzip reader here lets a compressed input of any size be chunked.
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return res, err
		}
		defer zr.Close()
		r = zr
	} else {
		r = br
	}
	// Read the next chunk while the engine evaluates the current one.
	chunks := make(chan scanChunk, 1)
	free := make(chan []byte, 2)
	free <- make([]byte, ScanChunkSize)
	free <- make([]byte, ScanChunkSize)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		readChunks(r, free, chunks, stop)
	}()
	// r is not used after Scan returns: wait for a read in progress.
	defer func() {
		close(stop)
		<-done
	}()

	for {
		if err := ctx.Err(); err != nil {
			_, _ = e.scanStep(ctx, source, nil, stepEnd, &res, &dec)
			return res, err
		}
		var c scanChunk
		select {
		case c = <-chunks:
		case <-ctx.Done():
			_, _ = e.scanStep(ctx, source, nil, stepEnd, &res, &dec)
			return res, ctx.Err()
		}
		if len(c.buf) > 0 {
			res.Bytes += int64(len(c.buf))
			if fatal, err := e.scanStep(ctx, source, c.buf, stepPush, &res, &dec); fatal {
				return res, err
			}
			free <- c.buf[:cap(c.buf)]
		}
		if c.err == io.EOF {
			break
		}
		if c.err != nil {
			_, _ = e.scanStep(ctx, source, nil, stepEnd, &res, &dec)
			return res, c.err
		}
	}
	if fatal, err := e.scanStep(ctx, source, nil, stepEnd|stepFlush, &res, &dec); fatal {
		return res, err
	}
	if dec != nil {
		return res, dec
	}
	return res, nil
}

type scanChunk struct {
	buf []byte
	err error // io.EOF after the last chunk; a read error
}

// readChunks fills free buffers from r and sends them, ending with io.EOF
// or the read error.
func readChunks(r io.Reader, free <-chan []byte, out chan<- scanChunk, stop <-chan struct{}) {
	for {
		var buf []byte
		select {
		case buf = <-free:
		case <-stop:
			return
		}
		n, err := io.ReadFull(r, buf)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case out <- scanChunk{buf[:n], err}:
		case <-stop:
			return
		}
		if err != nil {
			return
		}
	}
}

const (
	stepPush  = 1
	stepEnd   = 2
	stepFlush = 4
	stepFile  = 8 // buf holds a path: secdet_scan_file on res.jobs engines
)

// ScanFile is Scan of the file at path, read by libsecdet itself
// (secdet_scan_file) on up to jobs engines on threads, like `secdet scan
// -j`: 0 is one per core, 1 this engine alone. The alerts are those of one
// engine, ids included, in another order; handlers and the channel receive
// them from the scan's threads, one at a time. Only a JSON-lines file of at
// least 2 MiB (1 MiB per engine) is split; with rules that keep state a
// split scan ends flushed and its correlation state is not kept in the
// Engine (docs/api.md "Scanning a file on several threads"). The Engine's
// lock is held for the whole file, and ctx is checked before it and before
// the final flush only. Bytes counts the file's bytes.
func (e *Engine) ScanFile(ctx context.Context, source, path string, jobs int) (ScanResult, error) {
	var res ScanResult
	var dec *DecodeError
	if jobs < 0 || jobs > 256 {
		return res, &Error{Op: "scan", Status: ErrInvalidArg, Detail: "jobs must be from 0 to 256"}
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.jobs = jobs
	if fatal, err := e.scanStep(ctx, source, []byte(path), stepFile, &res, &dec); fatal {
		return res, err
	}
	if st, err := os.Stat(path); err == nil {
		res.Bytes = st.Size()
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if fatal, err := e.scanStep(ctx, source, nil, stepEnd|stepFlush, &res, &dec); fatal {
		return res, err
	}
	if dec != nil {
		return res, dec
	}
	return res, nil
}

// scanStep does one locked step of a scan and accounts for it in res and
// dec. fatal reports an error that ends the scan. A push that finds a sink
// that cannot take more alerts is tried again (see Push).
func (e *Engine) scanStep(ctx context.Context, source string, buf []byte, what int, res *ScanResult,
	dec **DecodeError) (bool, error) {
	for {
		fatal, err := e.scanOnce(source, buf, what, res, dec)
		if !busyAgain(ctx, err) {
			return fatal, err
		}
	}
}

func (e *Engine) scanOnce(source string, buf []byte, what int, res *ScanResult, dec **DecodeError) (fatal bool, err error) {
	k, err := e.lock()
	if err != nil {
		return true, err
	}
	defer e.mu.Unlock()
	cs, tmp := k.cstr(source)
	if tmp {
		defer C.free(unsafe.Pointer(cs))
	}
	before, alerts := k.stats(), k.ctx.alerts
	_, err = k.run("scan", false, func() C.secdet_status {
		if what&stepFile != 0 {
			cp := C.CString(string(buf))
			defer C.free(unsafe.Pointer(cp))
			return C.secdet_scan_file(k.c, cs, cp, C.uint(res.jobs), nil)
		}
		if what&stepPush != 0 {
			return C.secdet_push(k.c, cs, unsafe.Pointer(unsafe.SliceData(buf)), C.size_t(len(buf)))
		}
		st := C.secdet_source_end(k.c, cs)
		if what&stepFlush != 0 && (st == C.SECDET_OK || st == C.SECDET_ERR_DECODE) {
			if st2 := C.secdet_flush(k.c); st2 != C.SECDET_OK {
				return st2
			}
		}
		return st
	})
	after := k.stats()
	res.Events += after.Events - before.Events
	res.Malformed += after.Malformed - before.Malformed
	res.Alerts += uint64(k.ctx.alerts - alerts)
	var de *DecodeError
	if errors.As(err, &de) {
		if *dec == nil {
			*dec = &DecodeError{Op: "scan"}
		}
		(*dec).Count += de.Count
		for _, m := range de.Reports {
			if len((*dec).Reports) < maxMalformed {
				(*dec).Reports = append((*dec).Reports, m)
			}
		}
		return false, nil
	}
	return err != nil, err
}
