"""Write an evaluation report folder: metrics.json, comparison.md, confusion PNGs, errors.jsonl."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pipeline.annotations import Statement
from pipeline.article_evaluation import plot_precision_recall
from pipeline.evaluation import FINETUNED, ScoredModel
from pipeline.labels import LABELS
from pipeline.outputs import write_text


def comparison_markdown(report: dict) -> str:
    """Models sorted by macro-F1 with intervals, per-class F1, significance, CV, calibration."""
    test = report["test"]
    models = test["models"]
    lines = [
        f"# Evaluation: {report['run_name']}",
        "",
        f"Test set: {report['data']['split_sizes'].get('test')} statements "
        f"(split: {report['data']['split_method']}). Primary metric: macro-F1, with 95% "
        "bootstrap intervals.",
        "",
        "| rank | model | macro-F1 [95% CI] | accuracy | ECE | "
        + " | ".join(f"F1 {label}" for label in LABELS)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(LABELS),
    ]
    averaged = test.get("macro_f1_labels")
    if averaged and len(averaged) < len(LABELS):
        absent = [label for label in LABELS if label not in averaged]
        lines[3:3] = [
            f"Macro-F1 averages over the {len(averaged)} labels present in the gold data "
            f"({', '.join(averaged)}); {', '.join(absent)} "
            f"{'has' if len(absent) == 1 else 'have'} no gold statement, so no F1 "
            "(their columns show 0), and predictions of them count as errors.",
            "",
        ]
    for rank, name in enumerate(test["ranking"], start=1):
        m = models[name]
        low, high = m["macro_f1_ci95"]
        lines.append(
            f"| {rank} | **{name}** ({m['description']}) | {m['macro_f1']:.3f} "
            f"[{low:.3f}, {high:.3f}] | {m['accuracy']:.3f} | {m['ece']:.3f} | "
            + " | ".join(f"{m['per_class'][label]['f1']:.3f}" for label in LABELS)
            + " |"
        )
    significance = test.get("significance")
    if significance:
        verdict = "significant" if significance["significant_at_0.05"] else "not significant"
        low, high = significance["ci95"]
        lines += [
            "",
            "## Fine-tuned model vs best baseline",
            f"Paired bootstrap ({significance['n_resamples']} resamples) of "
            f"`{FINETUNED}` against `{significance['baseline']}`: macro-F1 difference "
            f"{significance['macro_f1_difference']:+.3f} (95% CI [{low:+.3f}, {high:+.3f}]), "
            f"one-sided p = {significance['p_value']:.3f}: {verdict} at 0.05.",
        ]
    cv = report.get("cross_validation")
    if cv:
        lines += [
            "",
            f"## Cross-validation ({cv['folds']} folds grouped by {cv['groups']})",
            *(
                ["", "Left out in turn: " + ", ".join(cv["fold_names"]) + "."]
                if cv["groups"] == "conflict"
                else []
            ),
            "",
            "| model | macro-F1 mean | std | per fold |",
            "|---|---|---|---|",
        ]
        for name, row in sorted(cv["models"].items(), key=lambda kv: -kv[1]["macro_f1_mean"]):
            folds = ", ".join(f"{s:.3f}" for s in row["per_fold"])
            lines.append(
                f"| {name} | {row['macro_f1_mean']:.3f} | {row['macro_f1_std']:.3f} | {folds} |"
            )
    finetuned = models.get(FINETUNED)
    if finetuned and finetuned.get("ece_before_calibration") is not None:
        temperature = report.get("calibration", {}).get("temperature")
        lines += [
            "",
            "## Calibration",
            f"Temperature scaling fitted on dev (T = {temperature:.3f}): test ECE "
            f"{finetuned['ece_before_calibration']:.3f} before, {finetuned['ece']:.3f} after.",
        ]
    lines += article_markdown(report.get("articles"))
    gate = report.get("gate")
    if gate and "passed" in gate:
        lines += [
            "",
            "## Quality gate",
            f"Floor {gate['macro_f1_floor']:.2f}"
            + (", and at least the best baseline" if gate["against_best_baseline"] else "")
            + (
                f"; article-level stance precision >= {gate['article_precision_floor']:.2f} and "
                f"stance F1 >= {gate['article_f1_floor']:.2f}"
                if (report.get("articles") or {}).get("models")
                else ""
            )
            + f": **{'passed' if gate['passed'] else 'FAILED'}**"
            + ("".join(f"\n- {reason}" for reason in gate["failures"])),
        ]
    return "\n".join(lines) + "\n"


def _value(figures: dict, key: str, percent: bool = False) -> str:
    value = figures.get(key)
    if value is None:
        return "n/a"
    interval = (figures.get("ci95") or {}).get(key)
    text = f"{value:.1f}" if percent else f"{value:.3f}"
    if interval:
        low, high = interval
        text += f" [{low:.1f}, {high:.1f}]" if percent else f" [{low:.2f}, {high:.2f}]"
    return text


def article_markdown(articles: dict | None) -> list[str]:
    """The article-level section of comparison.md: every model, overall and per group."""
    if not articles:
        return []
    if articles.get("skipped"):
        return ["", "## Whole articles", f"Skipped: {articles['skipped']}."]
    lines = [
        "",
        f"## Whole articles ({articles['n_articles']} gold articles in `{articles['folder']}`, "
        "end to end)",
        "",
        "Each article is read, segmented into sentences, attributed and scored as `stance "
        "predict` would; predicted passages are matched to the gold sentences they overlap "
        "(ambiguous gold left out). 95% bootstrap intervals over articles. Decision rule of the "
        f"fine-tuned model: {articles['decision']['rule']}.",
        "",
        "| model | group | stance precision | stance recall | stance F1 | label acc. | "
        "holder acc. | target acc. | false calls / 100 none | stance calls |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, groups in articles["models"].items():
        for group, f in groups.items():
            lines.append(
                f"| {name} | {group} ({f['n_articles']}) | {_value(f, 'stance_precision')} | "
                f"{_value(f, 'stance_recall')} | {_value(f, 'stance_f1')} | "
                f"{_value(f, 'label_accuracy')} | {_value(f, 'holder_accuracy')} | "
                f"{_value(f, 'target_accuracy')} | "
                f"{_value(f, 'false_calls_per_100_none', percent=True)} | "
                f"{f['n_predicted_stance']} |"
            )
    return lines


def plot_confusion_matrix(model: ScoredModel, gold: Sequence[str], path: Path) -> None:
    """A confusion-matrix PNG (rows gold, columns predicted), via scikit-learn and matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    predicted = [LABELS[i] for i in model.predicted]
    figure, axes = plt.subplots(figsize=(5, 4.5))
    ConfusionMatrixDisplay.from_predictions(
        list(gold), predicted, labels=list(LABELS), ax=axes, colorbar=False, cmap="Blues"
    )
    axes.set_title(f"{model.name}: macro-F1 {model.metrics['macro_f1']:.3f}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def error_records(scored: list[ScoredModel], statements: Sequence[Statement]) -> list[dict]:
    """Test items the fine-tuned model got wrong, with its probabilities and other models' labels."""
    main = next(m for m in scored if m.name == FINETUNED)
    others = [m for m in scored if m.name != FINETUNED]
    rows = []
    for i, statement in enumerate(statements):
        predicted = LABELS[int(main.predicted[i])]
        if predicted == statement.label:
            continue
        rows.append(
            {
                "id": statement.id,
                "doc_id": statement.doc_id,
                "text": statement.text,
                "gold": statement.label,
                "predicted": predicted,
                "confidence": float(main.probabilities[i].max()),
                "probabilities": {
                    label: round(float(p), 4)
                    for label, p in zip(LABELS, main.probabilities[i], strict=True)
                },
                "other_models": {m.name: LABELS[int(m.predicted[i])] for m in others},
                "conflict": statement.conflict,
                "note": statement.note,
            }
        )
    return sorted(rows, key=lambda r: -r["confidence"])


def write_articles_report(report: dict, folder: Path) -> dict:
    """Write the article-level precision-recall curve (JSON and PNG); return the report without
    the curve points, which are too long for metrics.json (written here when nothing else is).
    """
    folder.mkdir(parents=True, exist_ok=True)
    articles = report.get("articles") or {}
    curves = articles.get("pr_curves")
    if curves:
        report = {**report, "articles": {k: v for k, v in articles.items() if k != "pr_curves"}}
        write_text(json.dumps(curves), folder / "articles_pr_curve.json")
        operating = {
            name: (f["all"]["stance_recall"], f["all"]["stance_precision"])
            for name, f in articles["models"].items()
        }
        plot_precision_recall(curves, operating, folder / "articles_pr_curve.png")
    if "test" not in report:
        write_text(json.dumps(report, indent=2), folder / "metrics.json")
    return report


def write_report(
    report: dict, scored: list[ScoredModel], statements: Sequence[Statement], folder: str | Path
) -> Path:
    """Write the report folder; each file is replaced atomically.

    Raises:
        PipelineError: the folder cannot be created or written (names it).
    """
    from pipeline.outputs import prepare_output_folder

    folder = prepare_output_folder(Path(folder) / "metrics.json").parent
    report = write_articles_report(report, folder)
    write_text(json.dumps(report, indent=2), folder / "metrics.json")
    write_text(comparison_markdown(report), folder / "comparison.md")
    write_text(
        "".join(
            json.dumps(row, ensure_ascii=False) + "\n" for row in error_records(scored, statements)
        ),
        folder / "errors.jsonl",
    )
    gold = [s.label for s in statements]
    for model in scored:
        plot_confusion_matrix(model, gold, folder / f"confusion_{model.name}.png")
    return folder
