"""What a run reads: input paths -> files, checked before any work starts.

Inputs are files, folders (searched recursively) and glob patterns. Before a run starts,
`resolve_inputs` makes sure every input exists, lists every file it will read (name, size,
modification time) for the run's fingerprint, and refuses outputs that would overwrite an input or
be read back as input by the next run.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError

TEXT_SUFFIXES = {".txt", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
RECORD_SUFFIXES = {".jsonl", ".csv", ".parquet"}
NEWS_PLEASE_SUFFIXES = {".json"}  # one news-please article per file
WARC_SUFFIXES = {".warc", ".arc"}  # web archives (Common Crawl, CC-NEWS)
ZIP_SUFFIXES = {".zip"}
# What a file holds once decompressed; each may also come compressed (`articles.jsonl.gz`).
FORMAT_SUFFIXES = (
    TEXT_SUFFIXES | HTML_SUFFIXES | RECORD_SUFFIXES | NEWS_PLEASE_SUFFIXES | WARC_SUFFIXES
)
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")
SUPPORTED_SUFFIXES = FORMAT_SUFFIXES | ZIP_SUFFIXES


SKIPPED = "skipped"
RENAMED = "renamed"


@dataclass(frozen=True)
class InputProblem:
    """A file or record that was skipped (or, `action="renamed"`, kept under a new id), and why."""

    input: str
    line: int | None
    reason: str
    action: str = SKIPPED

    def as_dict(self) -> dict:
        return {
            "input": self.input,
            "line": self.line,
            "reason": self.reason,
            "action": self.action,
        }


def expand_inputs(inputs: Iterable[str]) -> Iterator[tuple[Path, Path | None] | InputProblem]:
    """Files, folders (recursive) and globs -> (file, root it was found under), sorted per input.

    A file reached twice (a folder and a glob inside it, or the same path given twice) is read
    once: the repeat is reported, so no article is counted twice.
    """
    first_seen: dict[Path, Path] = {}
    for raw in inputs:
        for item in _expand_input(raw):
            if isinstance(item, InputProblem):
                yield item
                continue
            file, root = item
            resolved = file.resolve()
            if resolved in first_seen:
                yield InputProblem(
                    str(file),
                    None,
                    f"already read as {first_seen[resolved]} (listed more than once in the "
                    "inputs); read once",
                )
                continue
            first_seen[resolved] = file
            yield file, root


def _expand_input(raw: str) -> Iterator[tuple[Path, Path | None] | InputProblem]:
    path = Path(raw)
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            if any(part.startswith(".") for part in file.relative_to(path).parts):
                continue  # hidden files and folders (.DS_Store, .git) are not articles
            if is_supported(file.name):
                yield file, path
            else:
                yield InputProblem(str(file), None, unsupported_reason(file))
    elif path.is_file():
        yield path, None
    elif is_glob(raw):
        matches = sorted(Path(p) for p in glob.glob(raw, recursive=True))
        files = [p for p in matches if p.is_file()]
        if not files:
            yield InputProblem(raw, None, "glob matched no files")
        yield from ((file, None) for file in files)
    else:
        yield InputProblem(raw, None, "no such file or folder")


def is_glob(raw: str) -> bool:
    """Whether an input is a glob pattern rather than a path."""
    return any(ch in raw for ch in "*?[")


def input_format(name: str) -> tuple[str, str]:
    """(format, compression) a file name says: `a.jsonl.gz` -> (".jsonl", ".gz"), `a.html` ->
    (".html", ""), `notes` -> ("", "")."""
    path = Path(name)
    last = path.suffix.lower()
    if last in COMPRESSION_SUFFIXES:
        return Path(path.stem).suffix.lower(), last
    return last, ""


def is_supported(name: str) -> bool:
    """Whether a file of this name is read: a supported format, plain or compressed, or a zip."""
    format, compression = input_format(name)
    return format in FORMAT_SUFFIXES or (format in ZIP_SUFFIXES and not compression)


def unsupported_reason(file: Path | str) -> str:
    shown = "".join(input_format(str(file))) or "(none)"
    return (
        f"unsupported file type {shown!r} (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}; "
        f"each but .zip also compressed as {', '.join(COMPRESSION_SUFFIXES)})"
    )


@dataclass(frozen=True)
class InputFile:
    """One file a run reads, as it was when the run started."""

    path: str  # absolute, symlinks resolved
    size: int
    mtime_ns: int

    def as_row(self) -> list:
        return [self.path, self.size, self.mtime_ns]


def resolve_inputs(
    inputs: Iterable[str],
    outputs: Iterable[str | Path],
    read_as: str = "articles",
    option: str = "--output",
) -> list[InputFile]:
    """Every file the inputs reach, in reading order, after checking the run can start.

    `read_as` names what the inputs are (articles, annotations) and `option` the command's
    output option, in the refusal messages.

    Raises:
        PipelineError: an input that does not exist (or a glob that matches no file); an output
            that is one of the input files, lies inside an input folder, or matches an input
            glob (the next run would read it back as articles).
    """
    inputs = list(inputs)
    missing = [raw for raw in inputs if not _exists(raw)]
    if missing:
        raise PipelineError(
            f"input not found: {', '.join(missing)}; check the path (a glob must match at "
            "least one file)"
        )
    files = list_input_files(inputs)
    _refuse_outputs_among_inputs(inputs, [Path(o) for o in outputs], files, read_as, option)
    return files


def _exists(raw: str) -> bool:
    if Path(raw).exists():
        return True
    return is_glob(raw) and any(Path(p).is_file() for p in glob.iglob(raw, recursive=True))


def list_input_files(inputs: Iterable[str]) -> list[InputFile]:
    """Name, size and modification time of every file the inputs reach (skipped ones too: they
    hold a place in the reading order that resuming relies on)."""
    files = []
    for item in expand_inputs(inputs):
        path = Path(item.input) if isinstance(item, InputProblem) else item[0]
        try:
            stat = path.stat()
        except OSError:
            continue  # a pattern that matched nothing, or an unreadable entry: not a file
        if path.is_file():
            files.append(InputFile(str(path.resolve()), stat.st_size, stat.st_mtime_ns))
    return files


def _refuse_outputs_among_inputs(
    inputs: list[str], outputs: list[Path], files: list[InputFile], read_as: str, option: str
) -> None:
    listed = {file.path for file in files}
    for output in outputs:
        if str(output.resolve()) in listed:
            raise PipelineError(
                f"{output}: this output would overwrite an input file; choose an {option} "
                "that is not among the inputs"
            )
    for raw in inputs:
        folder = Path(raw).resolve() if Path(raw).is_dir() else None
        for output in outputs:
            if folder and folder in output.resolve().parents:
                raise PipelineError(
                    f"{output}: this output is inside the input folder {raw}, so the next run "
                    f"would read it back as {read_as}; choose an {option} outside {raw}"
                )
            if is_glob(raw) and _glob_could_match(os.path.abspath(raw), os.path.abspath(output)):
                raise PipelineError(
                    f"{output}: this output matches the input pattern {raw!r}, so the next "
                    f"run would read it back as {read_as}; choose an {option} it does not match"
                )


def _glob_could_match(pattern: str, path: str) -> bool:
    """Whether `glob.glob(pattern)` would list `path` once it exists (`**` is checked loosely,
    erring towards a match)."""
    if "**" in pattern:
        return fnmatch.fnmatchcase(path, pattern)
    pattern_parts, path_parts = Path(pattern).parts, Path(path).parts
    return len(pattern_parts) == len(path_parts) and all(
        fnmatch.fnmatchcase(part, pattern_part)
        for part, pattern_part in zip(path_parts, pattern_parts, strict=True)
    )


def files_digest(files: list[InputFile]) -> dict:
    """Count, total size and a hash of the input listing: what a run's fingerprint covers."""
    listing = json.dumps([file.as_row() for file in files])
    return {
        "count": len(files),
        "bytes": sum(file.size for file in files),
        "sha256": hashlib.sha256(listing.encode()).hexdigest(),
    }


def describe_file_changes(before: list[list], after: list[InputFile], shown: int = 3) -> str:
    """`2 files added (a, b), 1 changed (c)`: how the input files differ from a stored listing."""
    old = {row[0]: tuple(row[1:]) for row in before}
    new = {file.path: (file.size, file.mtime_ns) for file in after}
    groups = {
        "added": [path for path in new if path not in old],
        "removed": [path for path in old if path not in new],
        "changed (size or modification time)": [
            path for path in new if path in old and old[path] != new[path]
        ],
    }
    parts = []
    for what, paths in groups.items():
        if paths:
            names = ", ".join(paths[:shown]) + (
                f" and {len(paths) - shown} more" if len(paths) > shown else ""
            )
            parts.append(f"{len(paths)} file{'s' if len(paths) > 1 else ''} {what}: {names}")
    if not parts and [row[0] for row in before] != list(new):
        parts.append("the same files in a different order")
    return "; ".join(parts)
