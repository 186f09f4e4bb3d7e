"""The streams of bytes an input file holds: itself, its decompressed content, or zip members.

A `.gz`, `.bz2`, `.xz` or `.zst` file holds one file of a supported format (`articles.jsonl.gz`);
a `.zip` holds many. Each is read as a stream: never loaded whole, never extracted to disk (a
Parquet file, which needs random access, is the one exception: it is copied to an anonymous
temporary file). Two guards keep a hostile archive harmless:

- a zip member whose name is absolute or climbs out with `..` is refused, so no name from an
  archive can point anywhere else, in ids or in any later extraction;
- decompression stops with `CompressionBombError` once the output outgrows the compressed input
  by more than `max_ratio` (a zip bomb turns kilobytes into terabytes). A zip member is checked
  against the sizes it declares before it is opened; zipfile never returns more than that.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from pipeline.inputs import (
    ZIP_SUFFIXES,
    InputProblem,
    input_format,
    is_supported,
    unsupported_reason,
)

# Ratios are checked once this much has come out: headers and tiny files expand freely.
RATIO_SLACK_BYTES = 1 << 20
READ_BUFFER_BYTES = 1 << 16


class CompressionBombError(ValueError):
    """Decompressed output outgrew its compressed input by more than the allowed ratio."""


class DamagedStreamError(OSError):
    """A compressed stream is truncated or corrupt. Raised in place of the decompressor's own
    error, which for a truncated stream is an EOFError that readers (warcio) take for a clean
    end of file."""


def decompression_errors() -> tuple[type[BaseException], ...]:
    """What reading a damaged or hostile compressed stream raises (OSError covers bad gzip and
    bzip2 data, EOFError a truncated stream)."""
    errors: tuple[type[BaseException], ...] = (
        OSError,
        EOFError,
        lzma.LZMAError,
        zlib.error,
        zipfile.BadZipFile,
        CompressionBombError,
    )
    try:
        import zstandard
    except ImportError:  # pragma: no cover - a declared dependency
        return errors
    return (*errors, zstandard.ZstdError)


@dataclass(frozen=True)
class Source:
    """One stream of bytes to read as articles: a file, a compressed file or a zip member.

    A zip member is only valid while the zip it came from is being iterated (`iter_sources`
    holds the archive open).
    """

    path: Path  # the file on disk
    format: str  # what the bytes are once decompressed: ".jsonl", ".html", ...
    compression: str = ""  # ".gz", ".bz2", ".xz", ".zst" or ""
    member: str = ""  # the name inside a zip, "" for a file
    size: int | None = None  # decompressed size when known before reading
    max_ratio: int = 100
    archive: zipfile.ZipFile | None = field(default=None, compare=False, repr=False)
    entry: zipfile.ZipInfo | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        """Where the bytes are, for messages and `input` fields: `a.zip/inner/b.html`."""
        return f"{self.path}/{self.member}" if self.member else str(self.path)

    @property
    def on_disk(self) -> bool:
        """Whether the bytes are the file on disk itself (seekable, readable by path)."""
        return not self.member and not self.compression

    @contextmanager
    def open(self) -> Iterator[io.BufferedReader]:
        """The decompressed bytes as a buffered stream (`peek` shows the head without reading it).

        A damaged compressed stream or a compression bomb reads as if it ended there; the error
        is raised when the `with` block ends.

        Raises:
            OSError: the file cannot be opened.
            DamagedStreamError: the compressed stream is truncated or corrupt.
            CompressionBombError: it expands more than `max_ratio` times.
        """
        if self.on_disk:
            with open(self.path, "rb") as handle:
                yield handle
            return
        with ExitStack() as stack:
            if self.member:
                if self.archive is None or self.entry is None:
                    raise RuntimeError(f"{self.name}: a zip member is read inside iter_sources")
                raw: BinaryIO = stack.enter_context(self.archive.open(self.entry))
            else:
                raw = stack.enter_context(open(self.path, "rb"))
            if self.compression:
                inner = stack.enter_context(_decompress(raw, self.compression))
                guarded = _GuardedStream(inner, raw.tell, self.max_ratio)
            else:  # a zip member: its declared sizes were checked before it was opened
                guarded = _GuardedStream(raw, None, self.max_ratio)
            yield io.BufferedReader(guarded, buffer_size=READ_BUFFER_BYTES)
            # Reached on a normal exit only: a reader that stopped early is not told.
            guarded.raise_failure()

    @contextmanager
    def seekable_path(self) -> Iterator[Path | BinaryIO]:
        """The file itself when it is on disk, else its bytes copied to an anonymous temporary
        file (for Parquet, which reads its footer first)."""
        if self.on_disk:
            yield self.path
            return
        with tempfile.TemporaryFile(prefix="stance-") as spill:
            with self.open() as stream:  # damage or a bomb raises here, before Parquet reads
                shutil.copyfileobj(stream, spill, READ_BUFFER_BYTES)
            spill.seek(0)
            yield spill


def _decompress(raw: BinaryIO, compression: str):
    if compression == ".gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if compression == ".bz2":
        return bz2.BZ2File(raw)
    if compression == ".xz":
        return lzma.LZMAFile(raw)
    import zstandard

    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)


class _GuardedStream(io.RawIOBase):
    """A decompressed stream that fills every read it can and stops at damage or a bomb.

    Damage (a truncated or corrupt stream) and a compression bomb end the stream as if it were
    complete, and `raise_failure` raises them afterwards: readers differ in what they do with an
    error mid-read (warcio takes a truncated gzip's EOFError for a clean end of file), but all of
    them hand over what came before it. `compressed_position` says how many compressed bytes
    have been consumed; None when the source was checked before it was opened.
    """

    def __init__(
        self, inner: BinaryIO, compressed_position: Callable[[], int] | None, max_ratio: int
    ):
        self._inner = inner
        self._position = compressed_position
        self._max_ratio = max_ratio
        self._produced = 0
        self._failure: Exception | None = None
        # One decompressed chunk per call where the stream offers it, so the bytes before a
        # damaged spot are not lost with the error.
        self._read = getattr(inner, "read1", inner.read)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._failure is not None:
            return 0
        view = memoryview(buffer).cast("B")
        filled = 0
        try:
            while filled < len(view):
                chunk = self._read(len(view) - filled)
                if not chunk:
                    break
                view[filled : filled + len(chunk)] = chunk
                filled += len(chunk)
        except decompression_errors() as exc:
            self._failure = DamagedStreamError(str(exc))
            self._failure.__cause__ = exc
        self._produced += filled
        if self._bomb():
            self._failure = CompressionBombError(
                f"decompressed more than {self._max_ratio} times its compressed size, likely a "
                "compression bomb; if the file is genuine, raise predict.max_compression_ratio"
            )
            return 0
        return filled

    def _bomb(self) -> bool:
        if self._position is None or self._produced <= RATIO_SLACK_BYTES:
            return False
        return self._produced > self._max_ratio * max(self._position(), 1)

    def raise_failure(self) -> None:
        """Raise the damage or bomb that ended the stream, if one did."""
        if self._failure is not None:
            raise self._failure


def iter_sources(file: Path, max_ratio: int = 100) -> Iterator[Source | InputProblem]:
    """The sources one input file holds: itself (plain or compressed), or each member of a zip.

    A zip member that cannot be read safely (unsafe name, encrypted, a nested zip, a compression
    ratio over `max_ratio`) or is not a supported format is an InputProblem; hidden members and
    folders (`__MACOSX/`, `.DS_Store`) are passed over, as in input folders.
    """
    format, compression = input_format(file.name)
    if format not in ZIP_SUFFIXES or compression:
        if not is_supported(file.name):
            yield InputProblem(str(file), None, unsupported_reason(file))
            return
        size = None if compression else _file_size(file)
        yield Source(file, format, compression, size=size, max_ratio=max_ratio)
        return
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError) as exc:
        yield InputProblem(str(file), None, f"not a readable zip archive ({exc})")
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if not is_safe_member_name(info.filename):
                yield InputProblem(
                    str(file),
                    None,
                    f"zip member {info.filename!r} has an unsafe path (absolute, or climbing out "
                    "with '..'); not read",
                )
                continue
            if _hidden(info.filename):
                continue
            problem = _member_problem(file, info, max_ratio)
            if problem:
                yield problem
                continue
            format, compression = input_format(info.filename)
            yield Source(
                file,
                format,
                compression,
                member=info.filename,
                size=None if compression else info.file_size,
                max_ratio=max_ratio,
                archive=archive,
                entry=info,
            )


def _file_size(file: Path) -> int | None:
    try:
        return file.stat().st_size
    except OSError:
        return None


def _hidden(name: str) -> bool:
    parts = [part for part in name.split("/") if part not in {"", "."}]
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _member_problem(file: Path, info: zipfile.ZipInfo, max_ratio: int) -> InputProblem | None:
    """Why a zip member is not read, or None when it can be."""
    where = f"{file}/{info.filename}"
    if info.flag_bits & 0x1:
        return InputProblem(where, None, "encrypted zip member; not read")
    format, _ = input_format(info.filename)
    if format in ZIP_SUFFIXES:
        return InputProblem(where, None, "a zip inside a zip is not read; extract it first")
    if not is_supported(info.filename):
        return InputProblem(where, None, unsupported_reason(info.filename))
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_SLACK_BYTES and ratio > max_ratio:
        return InputProblem(
            where,
            None,
            f"expands {ratio:.0f} times ({info.compress_size} -> {info.file_size} bytes), more "
            f"than predict.max_compression_ratio ({max_ratio}): likely a zip bomb; not read "
            "(raise the ratio if the file is genuine)",
        )
    return None


def is_safe_member_name(name: str) -> bool:
    """Whether an archive member name stays inside the archive: relative, no `..`, no drive."""
    if not name or "\x00" in name:
        return False
    posix = name.replace("\\", "/")
    path = PurePosixPath(posix)
    if path.is_absolute() or (len(posix) > 1 and posix[1] == ":"):
        return False
    return ".." not in path.parts
