"""Inter-annotator agreement: can reviewers trust the labels?

Cohen's kappa (scikit-learn) for two annotators, Krippendorff's alpha (the `krippendorff`
package, nominal level, tolerant of missing labels) for two or more, per-label specific
agreement, the annotator confusion matrix, and the items to adjudicate.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

import numpy as np

from pipeline.errors import DataError, Problem
from pipeline.labels import LABELS


def read_labels(path: str | Path) -> dict[str, dict]:
    """id -> {label, text} from an annotation-format JSONL file or a CSV with id,label columns.

    Raises:
        DataError: unreadable lines, unknown labels or repeated ids, each located.
    """
    path = Path(path)
    rows: list[tuple[int, dict]] = []
    problems: list[Problem] = []
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"id", "label"} <= set(reader.fieldnames):
                raise DataError(f"{path}: CSV needs 'id' and 'label' columns")
            rows = [(reader.line_num, row) for row in reader]
    else:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append(Problem(str(path), number, "json", f"invalid JSON: {exc.msg}"))
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


def agreement(annotations: Sequence[dict[str, dict]], names: Sequence[str]) -> dict:
    """Agreement statistics over the items labelled by at least two annotators."""
    import krippendorff
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

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
        "krippendorff_alpha": float(
            krippendorff.alpha(
                reliability_data=matrix,
                level_of_measurement="nominal",
                value_domain=list(range(len(LABELS))),
            )
        ),
        "pairs": [],
    }
    for i, j in combinations(range(len(annotations)), 2):
        shared = [k for k in ids if k in annotations[i] and k in annotations[j]]
        a = [annotations[i][k]["label"] for k in shared]
        b = [annotations[j][k]["label"] for k in shared]
        per_label = {}
        for label in LABELS:
            both = sum(x == label and y == label for x, y in zip(a, b, strict=True))
            either = a.count(label) + b.count(label)
            per_label[label] = {
                "specific_agreement": 2 * both / either if either else None,
                "kappa": float(cohen_kappa_score([x == label for x in a], [y == label for y in b])),
            }
        result["pairs"].append(
            {
                "annotators": [names[i], names[j]],
                "items": len(shared),
                "observed_agreement": sum(x == y for x, y in zip(a, b, strict=True)) / len(shared),
                "cohen_kappa": float(cohen_kappa_score(a, b, labels=list(LABELS))),
                "per_label": per_label,
                "confusion_matrix": {
                    "rows": names[i],
                    "columns": names[j],
                    "labels": list(LABELS),
                    "matrix": confusion_matrix(a, b, labels=list(LABELS)).tolist(),
                },
            }
        )
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
