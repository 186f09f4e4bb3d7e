"""Reading annotation tools' exports: each item's statement fields and what a person answered.

A tool's export is someone else's file, often edited by hand or picked by mistake, so every
reader checks the shape it is given and reports a wrong one as `file:item: field: message`
(the item is left out, the rest is read) instead of failing with a traceback. Each item comes
back as a `ToolItem`: where it is, the statement fields carried through the tool, and the
`HumanAnswer` a person gave in the tool, kept apart from the model's suggestion that was
exported with it (Label Studio `annotations` vs `predictions`, Prodigy `answer`, Argilla
`responses` vs `suggestion`), so an unreviewed suggestion is never taken for a human label.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.annotations import MODEL_ANNOTATOR
from pipeline.errors import DataError, Problem
from pipeline.jsonl import iter_jsonl_objects
from pipeline.labels import LABELS

CONTROL = "stance"  # the Label Studio control that holds the label
ANSWER_FIELDS = ("holder", "condition")  # the text answers every tool's setup asks for


@dataclass(frozen=True)
class HumanAnswer:
    """What people answered for one item; None where nobody answered that question."""

    label: str | None = None
    holder: str | None = None
    condition: str | None = None
    annotators: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolItem:
    """One item of a tool's export. `answer` is None for formats that carry no separate
    human answer (CSV: the row is the statement as it was edited)."""

    line: int
    record: dict
    answer: HumanAnswer | None


def _kind(value: object) -> str:
    """The JSON name of a value's type, for messages about wrong shapes."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


class _Shape(Exception):
    """A wrong shape inside one item: (field, message); the item is reported and left out."""

    def __init__(self, field: str, message: str):
        super().__init__(field, message)
        self.field, self.message = field, message


def _strings(value: object, field: str, where: str) -> list[str]:
    """A list of strings (a lone string counts as one), or _Shape naming the field."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise _Shape(field, f"{where}: expected a list of strings, got {_kind(value)}")


def _single(values: list[str], field: str, where: str) -> str | None:
    """The one value people gave (blank answers ignored), None if none; two differing
    answers are a conflict to adjudicate in the tool."""
    given = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if len(given) > 1:
        raise _Shape(field, f"conflicting {field}s {sorted(given)} in {where}; adjudicate first")
    return given[0] if given else None


def _label(values: list[str], where: str) -> str | None:
    """The single label people chose; unknown or conflicting labels are _Shape problems."""
    chosen = set(values)
    unknown = sorted(chosen - set(LABELS))
    if unknown:
        raise _Shape(
            "label",
            f"unknown label {unknown[0]!r} in {where} (expected one of {', '.join(LABELS)})",
        )
    if len(chosen) > 1:
        raise _Shape(
            "label", f"conflicting labels {sorted(chosen)} in {where}; adjudicate before importing"
        )
    return chosen.pop() if chosen else None


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None


def _label_studio_user(completed_by: object) -> str:
    """Label Studio's `completed_by`: a user id, or an object with the user's email or id."""
    if isinstance(completed_by, dict):
        completed_by = completed_by.get("email") or completed_by.get("id")
    return str(completed_by) if completed_by not in (None, "") else "unknown"


def _label_studio_answer(task: dict, where: str) -> HumanAnswer:
    """The label, holder and condition from a task's submitted (not cancelled) annotations."""
    annotations = task.get("annotations") or []
    if not isinstance(annotations, list):
        raise _Shape("annotations", f"{where}: expected a list, got {_kind(annotations)}")
    given: dict[str, list[str]] = {CONTROL: [], "holder": [], "condition": []}
    annotators = []
    for k, annotation in enumerate(annotations, start=1):
        field = f"annotations[{k}]"
        if not isinstance(annotation, dict):
            raise _Shape(field, f"{where}: expected an object, got {_kind(annotation)}")
        if annotation.get("was_cancelled"):
            continue
        results = annotation.get("result") or []
        if not isinstance(results, list):
            raise _Shape(f"{field}.result", f"{where}: expected a list, got {_kind(results)}")
        chose = False
        for n, result in enumerate(results, start=1):
            name = f"{field}.result[{n}]"
            if not isinstance(result, dict) or not isinstance(result.get("value"), dict):
                raise _Shape(name, f"{where}: expected an object with a 'value' object")
            control = result.get("from_name")
            if control not in given:
                continue
            key = "choices" if control == CONTROL else "text"
            values = _strings(result["value"].get(key), f"{name}.value.{key}", where)
            given[control].extend(values)
            chose = chose or (control == CONTROL and bool(values))
        if chose:
            annotators.append(_label_studio_user(annotation.get("completed_by")))
    return HumanAnswer(
        label=_label(given[CONTROL], where),
        holder=_single(given["holder"], "holder", where),
        condition=_single(given["condition"], "condition", where),
        annotators=tuple(annotators),
    )


def _label_studio(path: Path, problems: list[Problem]) -> Iterator[ToolItem]:
    tasks = _read_json(path)
    if not isinstance(tasks, list):
        raise DataError(
            f"{path}: expected a JSON array of tasks, got {_kind(tasks)}; "
            "export the project from Label Studio as JSON (Export > JSON)"
        )
    for number, task in enumerate(tasks, start=1):
        try:
            if not isinstance(task, dict):
                raise _Shape("task", f"task {number}: expected an object, got {_kind(task)}")
            where = f"task {task.get('id', number)}"
            data = task.get("data")
            if not isinstance(data, dict):
                raise _Shape(
                    "data", f"{where}: expected an object of statement fields, got {_kind(data)}"
                )
            yield ToolItem(number, dict(data), _label_studio_answer(task, where))
        except _Shape as shape:
            problems.append(Problem(str(path), number, shape.field, shape.message))


def _jsonl_items(path: Path, problems: list[Problem]) -> Iterator[tuple[int, dict]]:
    for number, item in iter_jsonl_objects(path):
        if isinstance(item, Problem):
            problems.append(item)
        else:
            yield number, item


def _doccano(path: Path, problems: list[Problem]) -> Iterator[ToolItem]:
    """doccano text classification JSONL. doccano writes one export file per annotator, named
    after them, and cannot tell a confirmed pre-label from an unreviewed one: export only the
    documents people approved."""
    for number, item in _jsonl_items(path, problems):
        exported = item.pop("exported_label", None)
        try:
            labels = _strings(item.pop("label", None), "label", "the label list")
            label = _label(labels, "the label list")
        except _Shape as shape:
            problems.append(Problem(str(path), number, shape.field, shape.message))
            continue
        suggested = str(item.get("annotator", "")).startswith(MODEL_ANNOTATOR)
        if label is not None and label == exported and not suggested:
            # a person's statement that came back unchanged stays theirs
            yield ToolItem(number, {**item, "label": label}, None)
            continue
        if label is None and exported is not None:
            item["label"] = exported  # nobody labelled it: the statement as exported
        answer = HumanAnswer(label=label, annotators=(path.stem,) if label else ())
        yield ToolItem(number, item, answer)


def _prodigy(path: Path, problems: list[Problem]) -> Iterator[ToolItem]:
    """Prodigy `db-out` JSONL: `answer` says a person saw the task; `accept` holds the chosen
    option; the `text_input` blocks store holder and condition under their `field_id`."""
    for number, item in _jsonl_items(path, problems):
        try:
            meta = item.get("meta") or {}
            if not isinstance(meta, dict):
                raise _Shape("meta", f"expected an object, got {_kind(meta)}")
            answered = item.get("answer")
            if answered in ("reject", "ignore"):
                raise _Shape("answer", f"answer {answered!r}: not labelled, skipped")
            if answered not in (None, "accept"):
                raise _Shape(
                    "answer", f"unknown answer {answered!r} (expected accept, reject or ignore)"
                )
            answer = HumanAnswer()
            if answered == "accept":
                texts = {
                    f: _single(_strings(item.get(f), f, "the task"), f, "the task")
                    for f in ANSWER_FIELDS
                }
                who = item.get("_annotator_id") or item.get("_session_id")
                answer = HumanAnswer(
                    label=_label(_strings(item.get("accept"), "accept", "accept"), "accept"),
                    annotators=(str(who),) if who else (),
                    **texts,
                )
        except _Shape as shape:
            problems.append(Problem(str(path), number, shape.field, shape.message))
            continue
        yield ToolItem(number, {**meta, "text": item.get("text", "")}, answer)


def _argilla_responses(row: dict, question: str, where: str) -> tuple[list[str], list[str]]:
    """(submitted values, their users) of one question in Argilla's flattened record export
    (`<question>.responses`, `.responses.users`, `.responses.status`)."""
    values = row.pop(f"{question}.responses", None)
    users = row.pop(f"{question}.responses.users", None) or []
    status = row.pop(f"{question}.responses.status", None)
    values = _strings(values, f"{question}.responses", where)
    if not isinstance(users, list) or (status is not None and not isinstance(status, list)):
        raise _Shape(f"{question}.responses", f"{where}: users and status must be lists")
    kept = [
        (value, str(users[i]) if i < len(users) else "unknown")
        for i, value in enumerate(values)
        if status is None or (i < len(status) and status[i] == "submitted")
    ]
    return [v for v, _ in kept], [u for _, u in kept]


def _argilla(path: Path, problems: list[Problem]) -> Iterator[ToolItem]:
    """Parquet: either this product's export (statement columns) or Argilla's records export
    (`dataset.records.to_datasets().to_parquet(...)`), where the statement's label, holder and
    condition come back as `<question>.suggestion` and people's answers as `.responses`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    for number, row in enumerate(rows, start=1):
        where = f"record {number}"
        row.pop("suggestion_label", None)
        row.pop("suggestion_score", None)
        try:
            answer = None
            if "label.responses" in row:
                labels, users = _argilla_responses(row, "label", where)
                texts = {
                    f: _single(_argilla_responses(row, f, where)[0], f, where)
                    for f in ANSWER_FIELDS
                }
                answer = HumanAnswer(label=_label(labels, where), annotators=tuple(users), **texts)
            for question in ("label", *ANSWER_FIELDS):
                suggestion = row.pop(f"{question}.suggestion", None)
                row.setdefault(question, suggestion)
        except _Shape as shape:
            problems.append(Problem(str(path), number, shape.field, shape.message))
            continue
        yield ToolItem(number, row, answer or HumanAnswer())


def _whole_number(value: str) -> int:
    """A CSV offset cell as an int."""
    return int(value)


def _probability_object(value: str) -> dict:
    """A CSV probabilities cell: a JSON object of label -> probability."""
    data = json.loads(value)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


_CSV_CELLS = (
    ("char_start", _whole_number, "a whole number"),
    ("char_end", _whole_number, "a whole number"),
    ("probabilities", _probability_object, "a JSON object of label probabilities"),
)


def _csv_row(row: dict) -> dict:
    """A CSV row as statement fields: blank cells -> None, offsets and probabilities parsed,
    and text cells without the mark `stance export` put before formula-like text."""
    from pipeline.outputs import restore_csv_cell

    if None in row:
        raise _Shape("row", "more values than the header has columns")
    row = {key: restore_csv_cell(value) for key, value in row.items()}
    for key, convert, expected in _CSV_CELLS:
        value = row.get(key)
        try:
            row[key] = convert(value) if value not in (None, "") else None
        except ValueError:  # json.JSONDecodeError is a ValueError
            raise _Shape(key, f"expected {expected}, got {value[:40]!r}") from None
    row["date"] = row.get("date") or None
    return row


def _csv(path: Path, problems: list[Problem], required: tuple[str, ...]) -> Iterator[ToolItem]:
    """CSV with the statement fields as columns; the rows are the statements as edited."""
    from pipeline.text import read_utf8_table_text

    reader = csv.DictReader(io.StringIO(read_utf8_table_text(path), newline=""))
    try:
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(
                f"{path}:1: header: missing column(s) {', '.join(missing)}; "
                "start from a file written by `stance export --format csv`"
            )
        for row in reader:
            try:
                yield ToolItem(reader.line_num, _csv_row(row), None)
            except _Shape as shape:
                problems.append(Problem(str(path), reader.line_num, shape.field, shape.message))
    except csv.Error as exc:  # e.g. a NUL byte or an unclosed quote: later rows cannot be told
        problems.append(
            Problem(str(path), reader.line_num, "csv", f"unreadable CSV ({exc}); rest not read")
        )


def read_tool_export(
    path: Path, fmt: str, problems: list[Problem], required: tuple[str, ...] = ()
) -> list[ToolItem]:
    """Every usable item of a tool's export; items with a wrong shape go to `problems`.

    Args:
        path: the export file.
        fmt: one of label-studio, doccano, prodigy, argilla, csv.
        problems: receives a located Problem for each item left out.
        required: CSV columns that must be present.

    Raises:
        DataError: the file as a whole is unreadable or not the expected kind of file.
    """
    if fmt == "label-studio":
        return list(_label_studio(path, problems))
    if fmt == "doccano":
        return list(_doccano(path, problems))
    if fmt == "prodigy":
        return list(_prodigy(path, problems))
    if fmt == "argilla":
        return list(_argilla(path, problems))
    if fmt == "csv":
        return list(_csv(path, problems, required))
    raise DataError(f"unknown format {fmt!r}")
