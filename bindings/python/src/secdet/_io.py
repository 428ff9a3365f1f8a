"""_io.py — reading scan inputs: files, file objects, directories; plain or gzip.

Inputs are read in 1 MiB chunks; a file scan() opens itself is read with
read(2) into one buffer, reused for every chunk (a new 1 MiB bytes object a
chunk costs page faults and zeroed pages). gzip (recognised by its magic
bytes, not the file name) is inflated here, a chunk at a time, because the
library wants a whole gzip stream in one push; concatenated members are all
read, and a truncated stream is an error, as with `secdet scan`. zlib
releases the GIL while it inflates.
"""
from __future__ import annotations

import os
from io import FileIO

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms)

if TYPE_CHECKING:  # pragma: no cover
    from typing import IO, Any, Iterable, Iterator, List, Tuple, Union

    PathLike = Union[str, "os.PathLike[str]"]
    ScanInput = Union[PathLike, IO[Any], Iterable[Union[PathLike, IO[Any]]]]

CHUNK = 1 << 20


def expand_inputs(inp: ScanInput) -> List[Tuple[str, Any]]:
    """(display name, path or file object) for each input, in order.

    A directory stands for every regular file below it, in byte order of
    their paths (as rule directories are loaded)."""
    if hasattr(inp, "read"):
        return [(getattr(inp, "name", "<file>") if isinstance(getattr(inp, "name", None), str)
                 else "<file>", inp)]
    if isinstance(inp, (str, os.PathLike)):
        path = os.fspath(inp)
        if os.path.isdir(path):
            found = []
            for top, dirs, files in os.walk(path):
                dirs.sort()
                for name in files:
                    full = os.path.join(top, name)
                    if os.path.isfile(full):
                        found.append(full)
            found.sort(key=os.fsencode)
            return [(p, p) for p in found]
        return [(path, path)]
    if isinstance(inp, (bytes, bytearray, memoryview)):
        raise TypeError("scan() reads paths and file objects; wrap bytes in io.BytesIO")
    out: List[Tuple[str, Any]] = []
    for item in inp:
        out.extend(expand_inputs(item))
    return out


def _read(f: IO[Any], size: int) -> bytes:
    data = f.read(size)
    if isinstance(data, str):  # a text-mode file
        return data.encode("utf-8")
    return bytes(data) if not isinstance(data, bytes) else data


def chunks(f: IO[Any], size: int = CHUNK) -> Iterator[Union[bytes, memoryview]]:
    """The bytes of f in chunks of at most `size` (inflated when gzip). A chunk
    of a file open_input() opened is a view of one buffer, valid until the next
    chunk is asked for (the caller pushes it at once)."""
    if type(f) is FileIO:
        buf = bytearray(size)
        view = memoryview(buf)
        n = f.readinto(buf)
        if n and buf[:2] == b"\x1f\x8b":
            yield from _gunzip(bytes(view[:n]), f, size)
            return
        while n:
            yield view[:n]
            n = f.readinto(buf)
        return
    first = _read(f, size)
    if first[:2] == b"\x1f\x8b":
        yield from _gunzip(first, f, size)
        return
    while first:
        yield first
        first = _read(f, size)


def _gunzip(data: bytes, f: IO[Any], size: int) -> Iterator[bytes]:
    import zlib  # only gzip input needs it: kept out of `import secdet`

    d = None  # the inflater of the member being read; None between members
    while True:
        if not data:
            data = _read(f, size)
            if not data:
                break
        if d is None:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = d.decompress(data, size)
            if out:
                yield out
            data = d.unconsumed_tail
            # Output capped at `size` with no input left: zlib may hold more.
            while not d.eof and not data and len(out) == size:
                out = d.decompress(b"", size)
                if out:
                    yield out
                data = d.unconsumed_tail
        except zlib.error as err:
            raise OSError(f"corrupt gzip data: {err}") from None
        if d.eof:
            data = d.unused_data + data
            d = None
    if d is not None:
        raise OSError("unexpected end of gzip data (truncated file?)")


def detect_format(head: bytes) -> str:
    """"cloudtrail" when the first key of the first JSON object is "Records", else "jsonl"
    (what `secdet scan --format auto` decides per file)."""
    s = bytes(head).lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if s[:1] != b"{":
        return "jsonl"
    s = s[1:].lstrip(b" \t\r\n")
    return "cloudtrail" if s.startswith(b'"Records"') else "jsonl"


def open_input(obj: Any) -> Tuple[IO[Any], bool]:
    """(file object, whether we opened it and must close it)."""
    if hasattr(obj, "read"):
        return obj, False
    return FileIO(obj, "rb"), True
