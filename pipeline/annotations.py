"""Read and validate annotation files (JSON Lines, one labelled statement per line).

Validation never stops at the first problem: it reports every problem it can find, each located
as `file:line: field: message`, so a user fixes a file in one pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from pipeline.errors import DataError, Problem
from pipeline.jsonl import iter_jsonl_objects
from pipeline.labels import LABELS, Label

AUTHORED = "authored"
# What `suggest` writes as the condition of a model's "conditional" until a person states it.
CONDITION_TO_STATE = "to be stated by the annotator"
MODEL_ANNOTATOR = "model:"  # `suggest` marks a statement nobody has reviewed yet as model:<run>
NEAR_DUPLICATE_SIMILARITY = 0.9
CHECKABLE_SOURCE_SUFFIXES = {".txt", ".md", ""}
MAX_SOURCE_BYTES = 20_000_000  # the article reader's limit: a source is one article


class Statement(BaseModel):
    """One labelled statement. Unknown keys are rejected so typos cannot pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str
    text: str
    label: Label
    doc_id: str
    source: str
    annotator: str
    holder: str = ""
    target: str = ""
    condition: str = ""
    date: str | None = None
    char_start: int | None = None
    char_end: int | None = None
    conflict: str = ""
    # The news section the statement belongs to (conflict, politics, business, sport, ...); lets
    # the corpus show how much ordinary news it covers beside talk-related text.
    section: str = ""
    note: str = ""
    # Set by `stance suggest`: the model's probabilities for the suggested label.
    probabilities: dict[str, float] | None = None

    @field_validator("holder", "target", "condition", "conflict", "section", "note", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("id", "doc_id", "source", "annotator")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty text")
        return value

    @field_validator("date")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Statement:
        # Each rule raises with a "field: message" prefix that read_annotations splits off.
        if self.label == "none" and self.holder:
            raise ValueError(f"holder: must be empty for label 'none' (got {self.holder!r})")
        if self.label != "none" and not self.holder.strip():
            raise ValueError(f"holder: required for label {self.label!r}")
        if self.label == "conditional" and not self.condition.strip():
            raise ValueError("condition: required for label 'conditional'")
        if self.label != "conditional" and self.condition:
            raise ValueError(f"condition: must be empty for label {self.label!r}")
        if (self.char_start is None) != (self.char_end is None):
            raise ValueError("char_start: char_start and char_end must be given together")
        if self.source != AUTHORED and self.char_start is None:
            raise ValueError("char_start: required for text taken from a source document")
        if self.char_start is not None and not 0 <= self.char_start < self.char_end:
            raise ValueError(
                f"char_start: need 0 <= char_start < char_end "
                f"(got {self.char_start}, {self.char_end})"
            )
        return self


@dataclass(frozen=True)
class Record:
    """A validated statement and where it was read from."""

    statement: Statement
    path: str
    line: int

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"


def annotation_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively, `*.jsonl`) into a sorted, de-duplicated list.

    Raises:
        DataError: a path does not exist, or a folder holds no `.jsonl` file.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.jsonl") if p.is_file())
            if not found:
                raise DataError(f"{path}: no .jsonl annotation files in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(f"{path}: no such file or folder")
    return list(dict.fromkeys(files))


def problems_from_validation(error: ValidationError, path: str, line: int) -> list[Problem]:
    """One `Problem` per field pydantic rejected in the record at `path:line`."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "record"
        kind = item["type"]
        if kind == "missing":
            message = "required field is missing"
        elif kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "literal_error" and field == "label":
            message = f"unknown label {item['input']!r} (expected one of {', '.join(LABELS)})"
        elif kind == "value_error":
            message = str(item["ctx"]["error"])
            if not item["loc"] and ": " in message:
                field, message = message.split(": ", 1)
        else:
            message = item["msg"]
        problems.append(Problem(path, line, field, message))
    return problems


def read_annotation_file(path: str | Path) -> tuple[list[Record], list[Problem]]:
    """Parse one JSON Lines file; return valid records and the problems of invalid lines."""
    path = Path(path)
    records: list[Record] = []
    problems: list[Problem] = []
    for number, data in iter_jsonl_objects(path):
        if isinstance(data, Problem):
            problems.append(data)
            continue
        try:
            statement = Statement.model_validate(data)
        except ValidationError as exc:
            problems.extend(problems_from_validation(exc, str(path), number))
            continue
        records.append(Record(statement, str(path), number))
    return records, problems


def normalise_text(text: str) -> str:
    """Lower-cased alphanumeric words, single-spaced: the form near-duplicates are compared in."""
    return " ".join("".join(c.lower() if c.isalnum() else " " for c in text).split())


def near_duplicate_vectors(texts: Iterable[str]):
    """Unit-length character 3-5-gram vectors of the normalised texts (a sparse matrix, one row
    a text): two texts are near-duplicates when the dot product of their rows reaches
    NEAR_DUPLICATE_SIMILARITY. The one definition `validate` and `suggest` share."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), use_idf=False)
    return vectorizer.fit_transform([normalise_text(text) for text in texts])


def _duplicate_id_problems(records: list[Record]) -> list[Problem]:
    first_seen: dict[str, Record] = {}
    problems = []
    for record in records:
        key = record.statement.id
        if key in first_seen:
            problems.append(
                Problem(
                    record.path,
                    record.line,
                    "id",
                    f"duplicate id {key!r} (first at {first_seen[key].location})",
                )
            )
        else:
            first_seen[key] = record
    return problems


def _conflicting_label_problems(records: list[Record]) -> list[Problem]:
    """Same or near-same text with a different label: one of the two labels is wrong. The same
    text in two documents with the same label is a problem too: the split keeps documents
    whole, so it could put one copy in train and the other in test, and flatter the score."""
    if len(records) < 2:
        return []
    normalised = [normalise_text(r.statement.text) for r in records]
    vectors = near_duplicate_vectors(r.statement.text for r in records)
    problems = []
    reported: set[int] = set()
    chunk = 512
    for start in range(0, len(records), chunk):
        sims = (vectors[start : start + chunk] @ vectors.T).tocoo()
        for i, j, sim in zip(sims.row + start, sims.col, sims.data, strict=True):
            if j >= i or sim < NEAR_DUPLICATE_SIMILARITY or i in reported:
                continue
            a, b = records[j], records[i]
            if a.statement.label == b.statement.label:
                if normalised[i] == normalised[j] and a.statement.doc_id != b.statement.doc_id:
                    problems.append(
                        Problem(
                            b.path,
                            b.line,
                            "text",
                            f"same text as {a.location} in another document "
                            f"({a.statement.doc_id!r}): a split could put one copy in train and "
                            "the other in test; keep one",
                        )
                    )
                    reported.add(i)
                continue
            how = "same text" if normalised[i] == normalised[j] else f"near-same text ({sim:.2f})"
            problems.append(
                Problem(
                    b.path,
                    b.line,
                    "label",
                    f"{b.statement.label!r} conflicts with {a.statement.label!r} for "
                    f"{how} at {a.location}",
                )
            )
            reported.add(i)
    return problems


def _sources_root(annotation_path: Path, sources_dir: Path | None) -> Path:
    """The one folder an annotation's sources may come from: `sources_dir`, else the nearest
    `sources/` folder beside or above the annotation file (three levels up at most)."""
    if sources_dir is not None:
        return sources_dir
    folders = [annotation_path.parent, *annotation_path.parent.parents][:4]
    for folder in folders:
        if (folder / "sources").is_dir():
            return folder / "sources"
    return folders[0] / "sources"


def _refused_name(root: Path, name: str) -> str:
    """Why `name` is refused before anything is opened, or "": an absolute path, a drive or a
    `..` step could name a file outside `root`."""
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or PureWindowsPath(name).drive or ".." in posix.parts:
        return (
            f"{name!r} is refused: a source must name a file inside {root} "
            "(no absolute path, no '..')"
        )
    return ""


def _read_source(root: Path, name: str) -> tuple[str | None, str]:
    """(text, "") of the source file `name` inside `root`, or (None, why it was not read).

    An annotation file is data, not a list of files to open: only regular files below `root`
    (after following symbolic links) and at most MAX_SOURCE_BYTES are read, so a `source` can
    neither reach other files on the machine nor hang on a device such as /dev/zero.
    """
    from pipeline.text import decode_text

    hint = "put the article there, or pass --sources FOLDER"
    refused = _refused_name(root, name)
    if refused:
        return None, refused
    candidate = root / name
    try:
        resolved = candidate.resolve(strict=True)
        inside = resolved.is_relative_to(root.resolve(strict=True))
    except (OSError, RuntimeError):  # missing, or a symbolic link loop
        return None, f"source file not found: {candidate} ({hint})"
    if not inside:
        return None, f"{name!r} is refused: it leads outside {root} (a symbolic link)"
    try:
        if not stat.S_ISREG(resolved.stat().st_mode):
            return None, f"{name!r} is refused: not a regular file"
        with open(resolved, "rb") as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        return None, f"source file unreadable: {candidate} ({exc.strerror or exc})"
    if len(data) > MAX_SOURCE_BYTES:
        return None, f"source file too large to check: {candidate} (over {MAX_SOURCE_BYTES} bytes)"
    try:
        return decode_text(data), ""
    except UnicodeDecodeError:
        return None, f"source file is not UTF-8 text: {candidate} (re-save it as UTF-8)"


def _offset_problems(records: list[Record], sources_dir: Path | None) -> list[Problem]:
    problems = []
    cache: dict[tuple[Path, str], tuple[str | None, str]] = {}
    for record in records:
        st = record.statement
        if st.source == AUTHORED or st.char_start is None:
            continue
        root = _sources_root(Path(record.path), sources_dir)
        if Path(st.source).suffix.lower() not in CHECKABLE_SOURCE_SUFFIXES:
            refused = _refused_name(root, st.source)  # never read, but still must be a name
            if refused:
                problems.append(Problem(record.path, record.line, "source", refused))
            continue  # offsets into extracted HTML or record text cannot be checked on disk
        key = (root, st.source)
        if key not in cache:
            cache[key] = _read_source(root, st.source)
        source_text, reason = cache[key]
        if source_text is None:
            problems.append(Problem(record.path, record.line, "source", reason))
            continue
        found = source_text[st.char_start : st.char_end]
        if found != st.text:
            problems.append(
                Problem(
                    record.path,
                    record.line,
                    "char_start",
                    f"offsets {st.char_start}:{st.char_end} give {found[:60]!r}, "
                    f"not the text {st.text[:60]!r}",
                )
            )
    return problems


def validate(
    paths: Iterable[str | Path], sources_dir: str | Path | None = None
) -> tuple[list[Record], list[Problem]]:
    """Read annotation files and check every record and every cross-record rule.

    Args:
        paths: annotation files or folders.
        sources_dir: folder holding the source documents named in `source`; by default
            `sources/` beside each annotation file.

    Returns:
        The valid records (in file order) and every problem found, sorted by file and line.
    """
    records: list[Record] = []
    problems: list[Problem] = []
    for path in annotation_files(paths):
        file_records, file_problems = read_annotation_file(path)
        records.extend(file_records)
        problems.extend(file_problems)
    problems.extend(_duplicate_id_problems(records))
    problems.extend(_conflicting_label_problems(records))
    problems.extend(_offset_problems(records, Path(sources_dir) if sources_dir else None))
    problems.sort(key=lambda p: (p.path, p.line))
    return records, problems


def load_statements(
    paths: Iterable[str | Path], sources_dir: str | Path | None = None
) -> list[Statement]:
    """Read annotations for training or evaluation, refusing data with any problem.

    Raises:
        DataError: listing every problem, located by file and line.
    """
    records, problems = validate(paths, sources_dir)
    if problems:
        raise DataError(f"{len(problems)} problem(s) in the annotations", problems)
    return [r.statement for r in records]


def hash_files(paths: Iterable[str | Path]) -> dict[str, str]:
    """SHA-256 of each annotation file, recorded with every model and report."""
    return {
        str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in annotation_files(paths)
    }
