"""Inter-annotator agreement: can reviewers trust the labels?

Cohen's kappa (scikit-learn) for two annotators, Krippendorff's alpha (the `krippendorff`
package, nominal level, tolerant of missing labels) for two or more, per-label specific
agreement, the annotator confusion matrix, and the items to adjudicate.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

import numpy as np

from pipeline.errors import DataError, Problem
from pipeline.jsonl import iter_jsonl_objects
from pipeline.labels import LABELS
from pipeline.text import read_utf8_table_text


def _csv_rows(path: Path) -> list[tuple[int, dict]]:
    """(line, row) of a CSV with id and label columns."""
    reader = csv.DictReader(io.StringIO(read_utf8_table_text(path), newline=""))
    try:
        if not reader.fieldnames or not {"id", "label"} <= set(reader.fieldnames):
            raise DataError(f"{path}: CSV needs 'id' and 'label' columns")
        return [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: unreadable CSV ({exc})") from None


def read_labels(path: str | Path) -> dict[str, dict]:
    """id -> {label, text} from an annotation-format JSONL file or a CSV with id,label columns.

    Raises:
        DataError: unreadable lines, lines that are not objects, unknown labels or repeated
            ids, each located.
    """
    path = Path(path)
    rows: list[tuple[int, dict]] = []
    problems: list[Problem] = []
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(path)
    else:
        for number, item in iter_jsonl_objects(path):  # splits on "\n" only
            if isinstance(item, Problem):
                problems.append(item)
            else:
                rows.append((number, item))
    labels: dict[str, dict] = {}
    for number, row in rows:
        key, label = str(row.get("id", "")), row.get("label")
        if not key:
            problems.append(Problem(str(path), number, "id", "required field is missing"))
        elif label not in LABELS:
            problems.append(
                Problem(
                    str(path),
                    number,
                    "label",
                    f"unknown label {label!r} (expected one of {', '.join(LABELS)})",
                )
            )
        elif key in labels:
            problems.append(Problem(str(path), number, "id", f"duplicate id {key!r}"))
        else:
            labels[key] = {"label": label, "text": row.get("text", "")}
    if problems:
        raise DataError(f"{len(problems)} problem(s) in {path}", problems)
    return labels


def _kappa(a: list, b: list, labels: list) -> float | None:
    """Cohen's kappa, or None where it is undefined: when both annotators gave one and the same
    value to every item, chance agreement is 1 and kappa is 0/0 (scikit-learn warns and gives
    NaN, which is not valid JSON)."""
    from sklearn.metrics import cohen_kappa_score

    if not a or len(set(a) | set(b)) < 2:
        return None
    return float(cohen_kappa_score(a, b, labels=labels))


def _alpha(matrix: np.ndarray) -> float | None:
    """Krippendorff's alpha (nominal), or None where it is undefined: a single value across
    all items leaves no expected disagreement to compare with."""
    import krippendorff

    if len(np.unique(matrix[~np.isnan(matrix)])) < 2:
        return None
    value = krippendorff.alpha(
        reliability_data=matrix,
        level_of_measurement="nominal",
        value_domain=list(range(len(LABELS))),
    )
    return float(value) if np.isfinite(value) else None


def _only_in_one_file(annotations: Sequence[dict[str, dict]], names: Sequence[str]) -> dict:
    """name -> ids that only this file labels: they count towards no agreement figure."""
    return {
        name: sorted(key for key in a if sum(key in other for other in annotations) == 1)
        for name, a in zip(names, annotations, strict=True)
    }


def _pair(first: dict[str, dict], second: dict[str, dict], ids: list[str], names: tuple) -> dict:
    """Agreement between two annotators over the items both labelled (None where undefined)."""
    from sklearn.metrics import confusion_matrix

    shared = [k for k in ids if k in first and k in second]
    a = [first[k]["label"] for k in shared]
    b = [second[k]["label"] for k in shared]
    per_label = {}
    for label in LABELS:
        both = sum(x == label and y == label for x, y in zip(a, b, strict=True))
        either = a.count(label) + b.count(label)
        per_label[label] = {
            "specific_agreement": 2 * both / either if either else None,
            "kappa": _kappa([x == label for x in a], [y == label for y in b], [False, True]),
        }
    agreeing = sum(x == y for x, y in zip(a, b, strict=True))
    return {
        "annotators": list(names),
        "items": len(shared),
        "observed_agreement": agreeing / len(shared) if shared else None,
        "cohen_kappa": _kappa(a, b, list(LABELS)),
        "per_label": per_label,
        "confusion_matrix": {
            "rows": names[0],
            "columns": names[1],
            "labels": list(LABELS),
            "matrix": confusion_matrix(a, b, labels=list(LABELS)).tolist() if shared else [],
        },
    }


def agreement(annotations: Sequence[dict[str, dict]], names: Sequence[str]) -> dict:
    """Agreement statistics over the items labelled by at least two annotators.

    A figure that is undefined for these labels (all items carry one label) is None, never NaN;
    `only_in_one_file` lists, per file, the ids no other file labels (left out of every figure).
    """
    if len(annotations) < 2:
        raise DataError("agreement needs at least two annotation files")
    ids = sorted(
        {key for a in annotations for key in a if sum(key in other for other in annotations) >= 2}
    )
    if not ids:
        raise DataError("the files share no item ids")
    matrix = np.array(
        [
            [LABELS.index(a[key]["label"]) if key in a else np.nan for key in ids]
            for a in annotations
        ],
        dtype=float,
    )
    result: dict = {
        "annotators": list(names),
        "items": len(ids),
        "krippendorff_alpha": _alpha(matrix),
        "only_in_one_file": _only_in_one_file(annotations, names),
        "pairs": [
            _pair(annotations[i], annotations[j], ids, (names[i], names[j]))
            for i, j in combinations(range(len(annotations)), 2)
        ],
    }
    result["disagreements"] = [
        {
            "id": key,
            "text": next((a[key]["text"] for a in annotations if key in a), ""),
            "labels": {
                name: a[key]["label"]
                for name, a in zip(names, annotations, strict=True)
                if key in a
            },
        }
        for key in ids
        if len({a[key]["label"] for a in annotations if key in a}) > 1
    ]
    return result
