"""Export to and import from annotation tools: Label Studio, doccano, Prodigy, Argilla/HF, CSV.

Every export keeps the whole statement (all annotation-format fields) in the tool's own place
for metadata (`data` in Label Studio, extra keys in doccano, `meta` in Prodigy, columns in
Parquet/CSV), so importing an export gives back every field. The label a person chose in the
tool replaces the exported label; tasks without a human label keep the exported one.

Formats (`--format`):
- `label-studio`: a JSON array of tasks `{"data": {...}, "predictions": [...]}`; the
  prediction carries the model's label (`choices` of the control named `stance`) and score.
  Import reads a Label Studio JSON export (`annotations[].result[].value.choices`).
- `doccano`: JSON Lines `{"text", "label": [one label], ...fields}` (text classification).
- `prodigy`: JSON Lines `{"text", "options", "accept": [label], "answer", "meta"}` (choice).
- `argilla`: Parquet with the fields as columns plus `suggestion_label`/`suggestion_score`,
  loadable with `datasets.load_dataset("parquet", ...)` and logged to Argilla from there.
- `csv`: the fields as columns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from pipeline.annotations import Statement, _problems_from_validation
from pipeline.errors import DataError, Problem
from pipeline.labels import LABELS

FORMATS = ("label-studio", "doccano", "prodigy", "argilla", "csv")
CONTROL = "stance"
LABEL_STUDIO_CONFIG = f"""<View>
  <Text name="text" value="$text"/>
  <Choices name="{CONTROL}" toName="text" choice="single" showInline="true">
{chr(10).join(f'    <Choice value="{label}"/>' for label in LABELS)}
  </Choices>
</View>"""
FIELDS = tuple(Statement.model_fields)


def _record(statement: Statement) -> dict:
    return statement.model_dump(mode="json")


def export_statements(
    statements: Sequence[Statement],
    path: str | Path,
    fmt: str,
    scores: dict[str, float] | None = None,
    model_version: str = "",
) -> Path:
    """Write statements for an annotation tool; `scores` (by id) become prediction scores."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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
                    "result": [
                        {
                            "from_name": CONTROL,
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": [record["label"]]},
                        }
                    ],
                }
            ]
            tasks.append(task)
        path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    elif fmt == "doccano":
        path.write_text(
            "".join(
                json.dumps({**r, "label": [r["label"]]}, ensure_ascii=False) + "\n" for r in records
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
                writer.writerow(
                    {**record, "probabilities": json.dumps(probabilities) if probabilities else ""}
                )
    else:
        raise DataError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return path


def _human_label(
    choices: list[list[str]], where: str, problems: list[Problem], path: str, line: int
) -> str | None:
    """The single label people chose, or None; conflicting or unknown labels are problems."""
    chosen = {c for group in choices for c in group}
    unknown = sorted(chosen - set(LABELS))
    if unknown:
        problems.append(
            Problem(
                path,
                line,
                "label",
                f"unknown label {unknown[0]!r} in {where} (expected one of {', '.join(LABELS)})",
            )
        )
        return None
    if len(chosen) > 1:
        problems.append(
            Problem(
                path,
                line,
                "label",
                f"conflicting labels {sorted(chosen)} in {where}; adjudicate before importing",
            )
        )
        return None
    return chosen.pop() if chosen else None


def _raw_records(path: Path, fmt: str, problems: list[Problem]) -> list[tuple[int, dict]]:
    """(location, annotation-format dict) for every item in a tool's export."""
    out = []
    if fmt == "label-studio":
        try:
            tasks = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
        for number, task in enumerate(tasks, start=1):
            record = dict(task.get("data", {}))
            choices = [
                r.get("value", {}).get("choices", [])
                for a in task.get("annotations", [])
                if not a.get("was_cancelled")
                for r in a.get("result", [])
                if r.get("from_name") == CONTROL
            ]
            label = _human_label(
                choices, f"task {task.get('id', number)}", problems, str(path), number
            )
            if label:
                record["label"] = label
            out.append((number, record))
        return out
    if fmt == "argilla":
        import pyarrow.parquet as pq

        for number, row in enumerate(pq.read_table(path).to_pylist(), start=1):
            row.pop("suggestion_label", None)
            row.pop("suggestion_score", None)
            out.append((number, row))
        return out
    if fmt == "csv":
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                for key in ("char_start", "char_end"):
                    row[key] = int(row[key]) if row.get(key) not in (None, "") else None
                row["date"] = row.get("date") or None
                row["probabilities"] = (
                    json.loads(row["probabilities"]) if row.get("probabilities") else None
                )
                out.append((reader.line_num, row))
        return out
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), number, "json", f"invalid JSON: {exc.msg}"))
            continue
        if fmt == "doccano":
            labels = item.pop("label", [])
            labels = labels if isinstance(labels, list) else [labels]
            label = _human_label([labels], "the label list", problems, str(path), number)
            if label:
                item["label"] = label
            out.append((number, item))
        elif fmt == "prodigy":
            if item.get("answer") in ("reject", "ignore"):
                problems.append(
                    Problem(
                        str(path),
                        number,
                        "answer",
                        f"answer {item['answer']!r}: not labelled, skipped",
                    )
                )
                continue
            record = {**item.get("meta", {}), "text": item.get("text", "")}
            label = _human_label([item.get("accept", [])], "accept", problems, str(path), number)
            if label:
                record["label"] = label
            out.append((number, record))
        else:
            raise DataError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return out


def import_statements(path: str | Path, fmt: str) -> tuple[list[Statement], list[Problem]]:
    """Read a tool's export back into statements; every problem is located and reported."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    problems: list[Problem] = []
    statements = []
    for number, record in _raw_records(path, fmt, problems):
        if any(p.line == number and p.field == "label" for p in problems):
            continue
        record = {k: v for k, v in record.items() if k in FIELDS}
        try:
            statements.append(Statement.model_validate(record))
        except ValidationError as exc:
            problems.extend(_problems_from_validation(exc, str(path), number))
    return statements, problems


def write_statements(statements: Sequence[Statement], path: str | Path) -> Path:
    """Write statements in the annotation format (JSON Lines)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(_record(s), ensure_ascii=False) + "\n" for s in statements),
        encoding="utf-8",
    )
    return path
