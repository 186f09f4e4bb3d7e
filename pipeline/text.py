"""The one text-reading rule: how the bytes of a text file become the text that offsets index.

A text file is UTF-8; a leading byte-order mark is dropped; CRLF and lone CR line endings become
LF. That is exactly what Python's `open(path, encoding="utf-8-sig").read()` returns, so anyone can
reproduce it. `predict` and `suggest` read `.txt`/`.md` articles this way and `validate` reads
annotation sources this way, so `text[start:end]` is the same passage everywhere. Record fields
(JSONL, CSV, Parquet) are used exactly as stored.
"""

from __future__ import annotations

import codecs

_WIDE_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
REENCODE_HINT = "re-save the file as UTF-8"


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF, as Python's universal-newlines mode reads them."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_text(data: bytes) -> str:
    """The text of a text file under the product's rule (UTF-8, BOM dropped, LF line endings).

    Raises:
        UnicodeDecodeError: the bytes are not UTF-8.
    """
    return normalise_newlines(data.decode("utf-8-sig"))


def wide_encoding(data: bytes) -> str | None:
    """The name of the wide encoding (UTF-16 or UTF-32) the bytes are text in, by byte-order
    mark or by the every-other-byte NUL pattern of BOM-less UTF-16; None for anything else."""
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            return name
    sample = data[:4096]
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        for zeros, other in ((odd, even), (even, odd)):  # little-endian, then big-endian
            if zeros.count(0) >= 0.9 * len(zeros) and other.count(0) <= 0.1 * len(other):
                return "UTF-16"
    return None


def not_text_reason(data: bytes) -> str | None:
    """Why bytes are not text to decode, told apart so the reason says what to do: UTF-16/UTF-32
    text or binary content (NUL bytes); None for anything else."""
    wide = wide_encoding(data)
    if wide:
        return f"{wide} text, not UTF-8; {REENCODE_HINT}"
    if b"\x00" in data[:8192]:
        return "binary file (contains NUL bytes)"
    return None


def undecodable_reason(data: bytes, error: UnicodeDecodeError) -> tuple[int | None, str]:
    """(line, reason): where `data` stops being UTF-8 text, and how to fix it."""
    wide = wide_encoding(data)
    if wide:
        return None, f"{wide} text, not UTF-8; {REENCODE_HINT}"
    line_start = data.rfind(b"\n", 0, error.start) + 1
    line = data.count(b"\n", 0, error.start) + 1
    return line, bad_byte_reason(data[error.start], error.start - line_start)


def bad_byte_reason(byte: int, offset_in_line: int) -> str:
    """The reason for a line that is not UTF-8: which byte, and where in its line."""
    return (
        f"not UTF-8 (invalid byte 0x{byte:02X}, byte {offset_in_line + 1} of the line); "
        f"{REENCODE_HINT}"
    )


def read_utf8_table_text(path) -> str:
    """The text of a whole UTF-8 file that is read at once (a CSV of labels or tool answers), BOM
    dropped; a file that is not UTF-8 is one DataError naming its first bad line."""
    from pipeline.errors import DataError

    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, reason = undecodable_reason(data, exc)
        raise DataError(f"{path}:{line or 1}: {reason}") from None
