"""Export to and import from annotation tools: Label Studio, doccano, Prodigy, Argilla/HF, CSV.

Every export keeps the whole statement (all annotation-format fields) in the tool's own place
for metadata (`data` in Label Studio, extra keys in doccano, `meta` in Prodigy, columns in
Parquet/CSV), so importing an export gives back every field.

Every tool is set up to ask for everything a statement needs: the label, and the holder and
condition as text (`TOOL_SETUP`, printed by `stance export`). On import, a person's answer in
the tool replaces the exported values and the statement records who gave it (`annotator:
"<tool>:<user>"`); an item nobody labelled keeps its statement, except a model's suggestion
(`annotator: "model:..."`), which is reported and left out rather than imported as a label.
A label that needs a holder or condition nobody gave gets holder `unknown` or the placeholder
condition, said in `note`, so no human label is lost.

Formats (`--format`):
- `label-studio`: a JSON array of tasks `{"data": {...}, "predictions": [...]}`; the
  prediction carries the model's label (`choices` of the control named `stance`), holder and
  condition (`textarea` controls) and score. Import reads a Label Studio JSON export
  (`annotations[].result[]`).
- `doccano`: JSON Lines `{"text", "label": [one label], ...fields}` (text classification).
- `prodigy`: JSON Lines `{"text", "options", "accept": [label], "holder", "condition", "meta"}`
  (choice plus two `text_input` blocks); import reads `db-out` (`answer`, `_annotator_id`).
- `argilla`: Parquet with the fields as columns plus `suggestion_label`/`suggestion_score`,
  loadable with `datasets.load_dataset("parquet", ...)` and logged to Argilla from there;
  import also reads Argilla's records export (`label.responses`, `holder.responses`, ...).
- `csv`: the fields as columns; the rows are imported as edited. A text cell that a
  spreadsheet would run as a formula gets a leading `'` on export and loses it on import, as
  in `predict`'s CSV (`pipeline.outputs.neutralise_csv_cell`), so export -> import is exact.

Outputs are written atomically; an output that cannot be written (a path under a file, a folder
that cannot be created) is a `PipelineError` naming it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from pipeline.actors import UNKNOWN
from pipeline.annotations import (
    CONDITION_TO_STATE,
    MODEL_ANNOTATOR,
    Statement,
    problems_from_validation,
)
from pipeline.errors import DataError, Problem
from pipeline.labels import LABELS
from pipeline.outputs import atomic_path, neutralise_csv_cell
from pipeline.tool_answers import ANSWER_FIELDS, CONTROL, ToolItem, read_tool_export

FORMATS = ("label-studio", "doccano", "prodigy", "argilla", "csv")
TOOL_NAMES = {
    "label-studio": "Label Studio",
    "doccano": "doccano",
    "prodigy": "Prodigy",
    "argilla": "Argilla",
    "csv": "the CSV",
}
LABEL_STUDIO_CONFIG = f"""<View>
  <Text name="text" value="$text"/>
  <Choices name="{CONTROL}" toName="text" choice="single" showInline="true" required="true">
{chr(10).join(f'    <Choice value="{label}"/>' for label in LABELS)}
  </Choices>
  <TextArea name="holder" toName="text" label="Holder" rows="1" maxSubmissions="1"
            editable="true" placeholder="who holds the stance (actor name); empty for none"/>
  <TextArea name="condition" toName="text" label="Condition" rows="1" maxSubmissions="1"
            editable="true" placeholder="the condition stated; only for conditional"/>
</View>"""
PRODIGY_BLOCKS = {
    "blocks": [
        {"view_id": "choice"},
        {"view_id": "text_input", "field_id": "holder", "field_label": "Holder (empty for none)"},
        {
            "view_id": "text_input",
            "field_id": "condition",
            "field_label": "Condition (only for conditional)",
        },
    ],
    "choice_style": "single",
}
ARGILLA_SETTINGS = f"""import argilla as rg
settings = rg.Settings(
    fields=[rg.TextField(name="text")],
    questions=[
        rg.LabelQuestion(name="label", labels={list(LABELS)!r}),
        rg.TextQuestion(name="holder", required=False),
        rg.TextQuestion(name="condition", required=False),
    ],
    allow_extra_metadata=True,  # the other statement fields travel as metadata
)
# log: dataset.records.log(datasets.load_dataset("parquet", data_files=EXPORT)["train"])
# back: dataset.records.to_datasets().to_parquet("labelled.parquet")"""
TOOL_SETUP = {
    "label-studio": "Label Studio labeling config:\n" + LABEL_STUDIO_CONFIG,
    "doccano": (
        f"doccano: a text classification project with the single labels {', '.join(LABELS)}. "
        "doccano cannot edit holder or condition: a label that needs one the item lacks gets "
        "holder 'unknown' or a placeholder condition (said in `note`). Export only approved "
        "documents: doccano cannot tell a confirmed pre-label from an unreviewed one."
    ),
    "prodigy": "Prodigy recipe config (view_id 'blocks'):\n" + json.dumps(PRODIGY_BLOCKS),
    "argilla": "Argilla dataset settings:\n" + ARGILLA_SETTINGS,
}
FIELDS = tuple(Statement.model_fields)


def _record(statement: Statement) -> dict:
    return statement.model_dump(mode="json")


def _answer_texts(record: dict) -> dict[str, str]:
    """The holder and condition a person should confirm; the placeholder condition is left
    blank so nobody confirms it by accident."""
    texts = {field: record[field] for field in ANSWER_FIELDS}
    if texts["condition"] == CONDITION_TO_STATE:
        texts["condition"] = ""
    return texts


def _label_studio_results(record: dict) -> list[dict]:
    """A prediction's results: the label as a choice, holder and condition as text areas."""
    results = [
        {
            "from_name": CONTROL,
            "to_name": "text",
            "type": "choices",
            "value": {"choices": [record["label"]]},
        }
    ]
    for field, text in _answer_texts(record).items():
        if text:
            results.append(
                {
                    "from_name": field,
                    "to_name": "text",
                    "type": "textarea",
                    "value": {"text": [text]},
                }
            )
    return results


def export_statements(
    statements: Sequence[Statement],
    path: str | Path,
    fmt: str,
    scores: dict[str, float] | None = None,
    model_version: str = "",
) -> Path:
    """Write statements for an annotation tool; `scores` (by id) become prediction scores.

    Raises:
        DataError: an unknown format.
        PipelineError: `path` cannot be written (names it and says what to do).
    """
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    with atomic_path(path) as temporary:
        _write_export(statements, temporary, fmt, scores, model_version)
    return Path(path)


def _write_export(
    statements: Sequence[Statement],
    path: Path,
    fmt: str,
    scores: dict[str, float] | None,
    model_version: str,
) -> None:
    scores = dict(scores or {})
    for statement in statements:  # suggestions carry the model's probabilities
        if statement.id not in scores and statement.probabilities:
            scores[statement.id] = max(statement.probabilities.values())
    records = [_record(s) for s in statements]
    if fmt == "label-studio":
        tasks = []
        for record in records:
            task = {"data": record}
            task["predictions"] = [
                {
                    "model_version": model_version or "stance",
                    "score": scores.get(record["id"], 1.0),
                    "result": _label_studio_results(record),
                }
            ]
            tasks.append(task)
        path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    elif fmt == "doccano":
        path.write_text(
            "".join(
                json.dumps(
                    {**r, "label": [r["label"]], "exported_label": r["label"]}, ensure_ascii=False
                )
                + "\n"
                for r in records
            ),
            encoding="utf-8",
        )
    elif fmt == "prodigy":
        options = [{"id": label, "text": label} for label in LABELS]
        path.write_text(
            "".join(
                json.dumps(
                    {
                        "text": r["text"],
                        "options": options,
                        "accept": [r["label"]],
                        **_answer_texts(r),  # the text_input blocks answer under these keys
                        "meta": {k: v for k, v in r.items() if k != "text"},
                        **({"score": scores[r["id"]]} if r["id"] in scores else {}),
                    },
                    ensure_ascii=False,
                )
                + "\n"
                for r in records
            ),
            encoding="utf-8",
        )
    elif fmt == "argilla":
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = [
            {**r, "suggestion_label": r["label"], "suggestion_score": scores.get(r["id"])}
            for r in records
        ]
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif fmt == "csv":
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS)
            writer.writeheader()
            for record in records:
                probabilities = record.get("probabilities")
                record["probabilities"] = json.dumps(probabilities) if probabilities else ""
                writer.writerow({k: neutralise_csv_cell(v) for k, v in record.items()})


def _joined_note(note: object, additions: list[str]) -> object:
    """The statement's note with what the import filled in appended."""
    if not additions:
        return note
    text = "; ".join(additions)
    return f"{note}; {text}" if isinstance(note, str) and note.strip() else text


def _text_or_carried(human: str | None, carried: object) -> object:
    """A person's answer when given, else the value carried through the tool (left as it is,
    so a wrong type is reported by validation instead of being replaced)."""
    if human:
        return human
    return carried.strip() if isinstance(carried, str) else carried


def _with_human_answer(
    item: ToolItem, fmt: str, path: Path, problems: list[Problem]
) -> dict | None:
    """The statement fields after a person's answer, or None (with a problem) for a model's
    suggestion nobody labelled.

    The label decides which other answers apply: `none` has no holder, only `conditional` has
    a condition. A label that needs a holder or condition nobody gave keeps the human label
    with holder `unknown` or the placeholder condition, and says so in `note`.
    """
    record, answer = dict(item.record), item.answer
    if answer is None:
        return record
    tool = TOOL_NAMES[fmt]
    if answer.label is None:
        if str(record.get("annotator", "")).startswith(MODEL_ANNOTATOR):
            problems.append(
                Problem(
                    str(path),
                    item.line,
                    "label",
                    f"not labelled by a person in {tool} (only the model's suggestion); "
                    "label it there, or leave it out of the export",
                )
            )
            return None
        return record
    label, notes = answer.label, []
    holder = _text_or_carried(answer.holder, record.get("holder"))
    condition = _text_or_carried(answer.condition, record.get("condition"))
    if label == "none":
        holder = ""
    elif holder in (None, ""):
        holder = UNKNOWN
        notes.append(f"holder not given in {tool}: set to {UNKNOWN!r}")
    if label != "conditional":
        condition = ""
    elif condition in (None, "", CONDITION_TO_STATE):
        condition = CONDITION_TO_STATE
        notes.append(f"condition not given in {tool}: state it")
    who = "+".join(dict.fromkeys(answer.annotators)) or "unknown"
    record.update(
        label=label,
        holder=holder,
        condition=condition,
        annotator=f"{fmt}:{who}",
        note=_joined_note(record.get("note", ""), notes),
    )
    return record


def import_statements(path: str | Path, fmt: str) -> tuple[list[Statement], list[Problem]]:
    """Read a tool's export back into statements; every problem is located and reported.

    Returns:
        The statements (human answers applied, annotator recorded) and the problems of the
        items left out: wrong shapes, conflicting or unknown labels, unlabelled suggestions,
        invalid statements.

    Raises:
        DataError: unknown format, or a file that is missing or unreadable as a whole.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    problems: list[Problem] = []
    statements = []
    required = tuple(name for name, f in Statement.model_fields.items() if f.is_required())
    for item in read_tool_export(path, fmt, problems, required):
        record = _with_human_answer(item, fmt, path, problems)
        if record is None:
            continue
        record = {k: v for k, v in record.items() if k in FIELDS}
        try:
            statements.append(Statement.model_validate(record))
        except ValidationError as exc:
            problems.extend(problems_from_validation(exc, str(path), item.line))
    return statements, problems


def write_statements(statements: Sequence[Statement], path: str | Path) -> Path:
    """Write statements in the annotation format (JSON Lines), atomically.

    Raises:
        PipelineError: `path` cannot be written (names it and says what to do).
    """
    with atomic_path(path) as temporary:
        temporary.write_text(
            "".join(json.dumps(_record(s), ensure_ascii=False) + "\n" for s in statements),
            encoding="utf-8",
        )
    return Path(path)
