"""Honest evaluation: the fine-tuned model against baselines on the same split, with intervals.

Small test sets make single numbers misleading, so every macro-F1 comes with a 95% bootstrap
interval, the fine-tuned model is compared with the best baseline by a paired bootstrap, and
grouped cross-validation (groups = doc_id) shows whether the ranking holds across folds.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from pipeline.annotations import Statement, hash_files, load_statements
from pipeline.baselines import BASELINE_DESCRIPTIONS, SentenceEmbedder, train_baseline
from pipeline.config import Config, config_to_dict
from pipeline.decision import decide_labels
from pipeline.errors import DataError, PipelineError, QualityGateError
from pipeline.labels import LABELS
from pipeline.metrics import classification_metrics, expected_calibration_error
from pipeline.provenance import package_versions, utc_now
from pipeline.splits import Split, make_split, split_for_config

log = logging.getLogger(__name__)
FINETUNED = "finetuned"
METRICS_SCHEMA_VERSION = 1


@dataclass
class ScoredModel:
    """One model's probabilities on a set of gold statements, and its metrics."""

    name: str
    description: str
    probabilities: np.ndarray
    metrics: dict
    predicted: np.ndarray  # label indices by the model's decision rule


def _macro_f1_on(
    gold: np.ndarray, predicted: np.ndarray, index: np.ndarray, labels: Sequence[int] | None = None
) -> float:
    """Macro-F1 over label indices `labels` (default: all labels) on the items in `index`."""
    from sklearn.metrics import f1_score

    return f1_score(
        gold[index],
        predicted[index],
        labels=range(len(LABELS)) if labels is None else list(labels),
        average="macro",
        zero_division=0,
    )


def bootstrap_indices(n: int, samples: int, seed: int) -> np.ndarray:
    """`samples` resamples of range(n) with replacement, shape (samples, n)."""
    return np.random.default_rng(seed).integers(0, n, size=(samples, n))


def bootstrap_interval(
    gold: np.ndarray,
    predicted: np.ndarray,
    resamples: np.ndarray,
    level: float = 0.95,
    labels: Sequence[int] | None = None,
) -> list[float]:
    """Percentile bootstrap interval of macro-F1 (over label indices `labels`, default all)."""
    scores = np.array([_macro_f1_on(gold, predicted, idx, labels) for idx in resamples])
    tail = (1 - level) / 2 * 100
    return [float(np.percentile(scores, tail)), float(np.percentile(scores, 100 - tail))]


def paired_bootstrap(
    gold: np.ndarray, predicted_a: np.ndarray, predicted_b: np.ndarray, resamples: np.ndarray
) -> dict:
    """Is model A's macro-F1 above model B's on this test set, beyond resampling noise?

    Both models are scored on the same resamples; the one-sided p-value is the share of
    resamples where A does not beat B.
    """
    differences = np.array(
        [
            _macro_f1_on(gold, predicted_a, idx) - _macro_f1_on(gold, predicted_b, idx)
            for idx in resamples
        ]
    )
    observed = _macro_f1_on(gold, predicted_a, np.arange(len(gold))) - _macro_f1_on(
        gold, predicted_b, np.arange(len(gold))
    )
    return {
        "macro_f1_difference": float(observed),
        "ci95": [float(np.percentile(differences, 2.5)), float(np.percentile(differences, 97.5))],
        "p_value": float((differences <= 0).mean()),
        "n_resamples": int(len(resamples)),
    }


def predict_statements(model, statements: Sequence[Statement]) -> np.ndarray:
    """Probabilities for gold statements; a model trained with context gets each statement's
    context (previous statement or headline of its document), as in training."""
    from pipeline.context import statement_contexts

    texts = [s.text for s in statements]
    mode = getattr(model, "context", "none")
    if mode == "none":
        return model.predict_proba(texts)
    return model.predict_proba(texts, statement_contexts(statements, mode))


def score(
    name: str,
    description: str,
    model,
    statements: Sequence[Statement],
    resamples: np.ndarray,
    macro_labels: Sequence[str] | None = None,
) -> ScoredModel:
    """Predict with any model that has `predict_proba` in LABELS order; compute all metrics.

    Labels come from the model's decision rule (the fine-tuned model's stance threshold), the
    same rule `predict` applies; models without one take the argmax. Macro-F1 and its interval
    average over `macro_labels` (default: all labels).
    """
    probabilities = predict_statements(model, statements)
    gold = np.array([LABELS.index(s.label) for s in statements])
    predicted = decide_labels(model, probabilities, LABELS)
    metrics = classification_metrics(
        [s.label for s in statements], [LABELS[i] for i in predicted], LABELS, macro_labels
    )
    metrics["macro_f1_ci95"] = bootstrap_interval(
        gold,
        predicted,
        resamples,
        labels=None if macro_labels is None else [LABELS.index(x) for x in macro_labels],
    )
    metrics["ece"] = expected_calibration_error(probabilities, gold)
    return ScoredModel(name, description, probabilities, metrics, predicted)


def compare(
    scored: list[ScoredModel], statements: Sequence[Statement], resamples: np.ndarray
) -> dict:
    """Models sorted by macro-F1, the best baseline, and the paired test against it."""
    gold = np.array([LABELS.index(s.label) for s in statements])
    baselines = [m for m in scored if m.name != FINETUNED]
    finetuned = next((m for m in scored if m.name == FINETUNED), None)
    best = max(baselines, key=lambda m: m.metrics["macro_f1"]) if baselines else None
    result = {
        "ranking": [m.name for m in sorted(scored, key=lambda m: -m.metrics["macro_f1"])],
        "best_baseline": best.name if best else None,
        "significance": None,
    }
    if finetuned and best:
        test = paired_bootstrap(
            gold,
            finetuned.predicted,
            best.predicted,
            resamples,
        )
        result["significance"] = {
            "model": FINETUNED,
            "baseline": best.name,
            **test,
            "significant_at_0.05": test["p_value"] < 0.05,
        }
    return result


def fit_baselines(
    names: Sequence[str],
    train_statements: Sequence[Statement],
    seed: int,
    base_model: str,
    embedder: SentenceEmbedder | None = None,
) -> dict:
    """Fit each named baseline on the same training statements."""
    texts = [s.text for s in train_statements]
    labels = [s.label for s in train_statements]
    return {name: train_baseline(name, texts, labels, seed, base_model, embedder) for name in names}


def _cv_folds(config: Config, ordered: Sequence[Statement], by: str, max_folds: int | None = None):
    """(name, train indices, test indices) per fold, at most `max_folds` of them.

    `doc_id`: grouped, stratified k-fold. `conflict`: leave one conflict out, the closest the
    corpus gets to a conflict the model has never seen; statements outside any conflict
    (ordinary news) always stay in training. Conflicts are left out largest first (most
    statements, then by name), so `max_folds` keeps the folds with the most test statements.
    """
    if by == "conflict":
        sizes = Counter(s.conflict for s in ordered if s.conflict)
        conflicts = sorted(sizes, key=lambda c: (-sizes[c], c))[:max_folds]
        for conflict in conflicts:
            test = np.asarray([i for i, s in enumerate(ordered) if s.conflict == conflict])
            train = np.asarray([i for i, s in enumerate(ordered) if s.conflict != conflict])
            yield conflict, train, test
        return
    from sklearn.model_selection import StratifiedGroupKFold

    folds = StratifiedGroupKFold(
        n_splits=config.evaluate.cv_folds, shuffle=True, random_state=config.seed
    )
    split = folds.split(
        np.zeros(len(ordered)), [s.label for s in ordered], [s.doc_id for s in ordered]
    )
    for fold, (train_idx, test_idx) in enumerate(split):
        if max_folds is not None and fold >= max_folds:
            return
        yield str(fold), train_idx, test_idx


def cross_validate(
    config: Config,
    statements: Sequence[Statement],
    include_finetuned: bool,
    embedder: SentenceEmbedder | None = None,
    progress: bool = True,
    by: str = "doc_id",
    max_folds: int | None = None,
) -> dict:
    """Cross-validation of the baselines, and of the fine-tuned model if asked.

    `by="doc_id"`: grouped, stratified k-fold; `by="conflict"`: leave one conflict out. In each
    fold the held-out statements are the test set; the fine-tuned model draws its dev set (for
    early stopping, calibration and the decision rule) from the remaining documents, baselines
    train on all of them. `max_folds` runs only the first folds (the largest conflicts): a
    fine-tuned fold costs a whole training run.
    """
    ordered = sorted(statements, key=lambda s: s.id)
    per_model: dict[str, list[float]] = {}
    fold_names = []
    folds = _cv_folds(config, ordered, by, max_folds)
    for fold, (name, train_idx, test_idx) in enumerate(folds):
        fold_names.append(name)
        train_part = [ordered[i] for i in train_idx]
        test_part = [ordered[i] for i in test_idx]
        baselines = fit_baselines(
            config.evaluate.baselines, train_part, config.seed, config.model.base_model, embedder
        )
        gold = [s.label for s in test_part]
        present = [label for label in LABELS if label in gold]
        for model_name, model in baselines.items():
            predicted = model.predict([s.text for s in test_part])
            per_model.setdefault(model_name, []).append(
                classification_metrics(gold, predicted, present)["macro_f1"]
            )
        if include_finetuned:
            from pipeline.training import train

            inner = make_split(
                train_part, "group", config.seed + fold, config.data.dev_fraction, 0.5
            )
            split = Split(train=inner.train + inner.test, dev=inner.dev, test=test_part)
            workdir = Path(tempfile.mkdtemp(prefix=f"cv-fold{fold}-"))
            try:
                result = train(config, output_dir=workdir, progress=progress, split=split)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            predicted = result.classifier.predict_labels_from(
                predict_statements(result.classifier, test_part)
            )
            per_model.setdefault(FINETUNED, []).append(
                classification_metrics(gold, predicted, present)["macro_f1"]
            )
        log.info("fold %s: %s", name, {k: v[-1] for k, v in per_model.items()})
    return {
        "folds": len(fold_names),
        "groups": by,
        "fold_names": fold_names,
        "macro_f1_over": "the labels present in each test fold",
        "models": {
            model_name: {
                "macro_f1_mean": float(np.mean(scores)),
                "macro_f1_std": float(np.std(scores)),
                "per_fold": [float(s) for s in scores],
            }
            for model_name, scores in per_model.items()
        },
    }


def evaluate_articles_section(
    config: Config, classifier, baselines: dict, folder: str | Path | None
) -> dict:
    """The `articles` part of metrics.json: end-to-end figures on gold articles for the
    fine-tuned model and each baseline, or why it was skipped (no folder configured or found).
    """
    from pipeline.actors import load_actor_dictionary
    from pipeline.article_evaluation import (
        evaluate_on_articles,
        precision_recall_points,
        read_as_predict_does,
    )
    from pipeline.gold_articles import ARTICLES_FILE, SENTENCES_FILE, read_gold_articles
    from pipeline.provenance import sha256_file
    from pipeline.scoring import SegmentOptions

    if not folder:
        return {"skipped": "no gold-articles folder configured (evaluate.articles)"}
    folder = Path(folder)
    if not folder.is_dir():
        return {
            "skipped": f"{folder}: gold-articles folder not found; article-level "
            "evaluation and its gate were skipped"
        }
    articles, problems = read_gold_articles(folder)
    for problem in problems:
        log.warning("%s (left out)", problem)
    documents = read_as_predict_does(folder, articles, config.predict.max_file_bytes)
    options = SegmentOptions.from_config(config.predict, unit="sentence")
    models = {FINETUNED: classifier, **baselines}
    figures, matched = evaluate_on_articles(
        models,
        articles,
        documents,
        options,
        load_actor_dictionary(config.predict.actors, getattr(classifier, "folder", None)),
        samples=config.evaluate.bootstrap_samples,
        seed=config.seed,
    )
    return {
        "folder": str(folder),
        "files": {name: sha256_file(folder / name) for name in (ARTICLES_FILE, SENTENCES_FILE)},
        "n_articles": len(articles),
        "problems": [str(p) for p in problems],
        "segmentation": "sentence",
        "decision": classifier.decision.as_dict(),
        "models": figures,
        "pr_curves": {name: precision_recall_points(m) for name, m in matched.items()},
    }


def _article_gate_failures(report: dict) -> list[str]:
    articles = report.get("articles") or {}
    gate = report["gate"]
    models = articles.get("models") if isinstance(articles, dict) else None
    finetuned = models.get(FINETUNED) if isinstance(models, dict) else None
    figures = finetuned.get("all") if isinstance(finetuned, dict) else None
    if not isinstance(figures, dict) or not figures:
        return []
    failures = []
    for key, floor_key in (
        ("stance_precision", "article_precision_floor"),
        ("stance_f1", "article_f1_floor"),
    ):
        floor, value = gate.get(floor_key), figures.get(key)
        if floor is None:
            continue
        if not _is_number(value) or not value >= floor:
            shown = f"{value:.3f}" if _is_number(value) else "n/a"
            failures.append(
                f"fine-tuned article-level {key.replace('_', ' ')} {shown} is below the floor "
                f"{floor:.3f} (evaluate.{floor_key})"
            )
    return failures


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_gate(report: dict) -> list[str]:
    """Reasons the fine-tuned model fails the quality gate recorded in a metrics report.

    The gate: test macro-F1 at or above the configured floor and, if configured, at or above
    the best baseline's test macro-F1; and, when gold articles were evaluated, article-level
    stance precision and stance F1 at or above their floors. A figure that is missing or not a
    finite number (NaN) fails: the gate passes only on evidence.
    """
    gate = report["gate"]
    models = report["test"]["models"]
    if FINETUNED not in models:
        return [f"no '{FINETUNED}' model in the report"]
    score_ft = models[FINETUNED].get("macro_f1")
    if not _is_number(score_ft):
        return [
            f"fine-tuned test macro-F1 is {score_ft!r}, not a number; the gate cannot pass "
            "(re-run `stance evaluate`)"
        ] + _article_gate_failures(report)
    failures = []
    if not score_ft >= gate["macro_f1_floor"]:
        failures.append(
            f"fine-tuned test macro-F1 {score_ft:.3f} is below the floor "
            f"{gate['macro_f1_floor']:.3f} (evaluate.macro_f1_floor)"
        )
    best = report["test"].get("best_baseline")
    if gate["against_best_baseline"] and best:
        score_best = models.get(best, {}).get("macro_f1")
        if not _is_number(score_best):
            failures.append(
                f"best baseline {best}: test macro-F1 is {score_best!r}, not a number; the "
                "fine-tuned model cannot be compared with it"
            )
        elif score_ft < score_best:
            failures.append(
                f"fine-tuned test macro-F1 {score_ft:.3f} is below the best "
                f"baseline {best} ({score_best:.3f})"
            )
    return failures + _article_gate_failures(report)


class _GateFloors(BaseModel):
    macro_f1_floor: float
    against_best_baseline: bool = True
    article_precision_floor: float | None = None
    article_f1_floor: float | None = None


class _ModelFigures(BaseModel):
    macro_f1: float | None


class _TestFigures(BaseModel):
    models: dict[str, _ModelFigures]
    best_baseline: str | None = None


class _GateInput(BaseModel):
    """The parts of metrics.json the gate reads; everything else is free."""

    gate: _GateFloors
    test: _TestFigures
    articles: dict | None = None


def read_metrics_report(path: str | Path) -> dict:
    """A metrics.json written by `stance evaluate`, checked for what `check_gate` reads.

    Raises:
        PipelineError: unreadable, not UTF-8 or JSON (with the line), no gate settings, or a
            field of the wrong shape (dotted name).
    """
    from pydantic import ValidationError

    path = Path(path)
    fix = "give the metrics.json that `stance evaluate --config` wrote"
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise PipelineError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PipelineError(f"{path}:{line}: not UTF-8 text; {fix}") from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PipelineError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); {fix}") from None
    if not isinstance(report, dict):
        raise PipelineError(f"{path}: expected a JSON object; {fix}")
    if not report.get("gate"):
        raise PipelineError(f"{path}: no gate settings in this report")
    try:
        checked = _GateInput.model_validate(report)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in exc.errors()
        )
        raise PipelineError(f"{path}: {problems}; {fix}") from None
    # The gate reads its settings as checked: defaults filled in (against_best_baseline), a
    # floor written as "0.5" read as the number 0.5.
    return {**report, "gate": {**report["gate"], **checked.gate.model_dump()}}


def enforce_gate(report: dict) -> None:
    """Raise QualityGateError (exit code 3) when the gate fails."""
    failures = check_gate(report)
    if failures:
        raise QualityGateError("quality gate failed: " + "; ".join(failures))


def changed_corpus_files(trained: dict | None, current: dict[str, str]) -> list[str]:
    """The annotation files added, removed or edited since a model was trained (from the
    `data.files` hashes in its meta.json); empty when they match or the model records none."""
    if not trained:
        return []
    changes = [f"{name} added" for name in sorted(set(current) - set(trained))]
    changes += [f"{name} removed" for name in sorted(set(trained) - set(current))]
    changes += [
        f"{name} edited"
        for name in sorted(set(trained) & set(current))
        if trained[name] != current[name]
    ]
    return changes


def evaluate_run(
    config: Config,
    model_dir: str | Path,
    cross_validation: bool = False,
    finetuned_cv: bool = False,
    progress: bool = True,
    articles_folder: str | Path | None = None,
    cv_by: str = "doc_id",
    allow_changed_corpus: bool = False,
    cv_max_folds: int | None = None,
) -> tuple[dict, list[ScoredModel], list[Statement], dict]:
    """Evaluate a trained model and the configured baselines on the config's test split.

    Baselines train on train + dev (the fine-tuned model needs dev for early stopping and
    calibration; the baselines get those examples as extra training data instead). The split is
    recomputed from today's corpus, so a model trained on another version of it is refused
    unless `allow_changed_corpus` (the difference is then recorded in the report).

    Returns:
        The metrics report (the documented `metrics.json` shape), the scored models, the test
        statements, and the fitted baselines by name.
    """
    from pipeline.cascade import load_classifier

    classifier = load_classifier(
        model_dir, device=config.train.device, backend=config.evaluate.backend
    )
    corpus_files = hash_files(config.data.paths)
    corpus_changes = changed_corpus_files(
        classifier.meta.get("data", {}).get("files"), corpus_files
    )
    if corpus_changes and not allow_changed_corpus:
        raise DataError(
            f"{model_dir}: the corpus changed since this model was trained "
            f"({'; '.join(corpus_changes)}), so today's test split may hold statements it "
            "trained on; retrain it, or pass --allow-changed-corpus to evaluate anyway "
            "(recorded in metrics.json)"
        )
    statements, split = split_for_config(config)
    resamples = bootstrap_indices(len(split.test), config.evaluate.bootstrap_samples, config.seed)
    scored = [
        score(FINETUNED, f"fine-tuned {config.model.base_model}", classifier, split.test, resamples)
    ]
    calibration = classifier.meta.get("calibration", {})
    trained_metrics = _read_trained_metrics(model_dir)
    if trained_metrics:
        scored[0].metrics["ece_before_calibration"] = trained_metrics["test"].get(
            "ece_before_calibration"
        )
    embedder = SentenceEmbedder(config.model.base_model)
    baselines = fit_baselines(
        config.evaluate.baselines,
        split.train + split.dev,
        config.seed,
        config.model.base_model,
        embedder,
    )
    for name, model in baselines.items():
        scored.append(score(name, BASELINE_DESCRIPTIONS[name], model, split.test, resamples))
    comparison = compare(scored, split.test, resamples)
    report = {
        "schema_version": METRICS_SCHEMA_VERSION,
        "run_name": config.run_name,
        "created": utc_now(),
        "model_dir": str(model_dir),
        "primary_metric": "macro_f1",
        "labels": list(LABELS),
        "data": {
            "files": corpus_files,
            "changed_since_training": corpus_changes,
            "split_method": config.data.split,
            "split_sizes": split.sizes(),
        },
        "calibration": calibration,
        "backend": classifier.backend,
        "test": {
            "models": {m.name: {"description": m.description, **m.metrics} for m in scored},
            **comparison,
        },
        "cross_validation": (
            cross_validate(
                config, statements, finetuned_cv, embedder, progress, cv_by, cv_max_folds
            )
            if cross_validation or finetuned_cv
            else None
        ),
        "articles": evaluate_articles_section(
            config, classifier, baselines, articles_folder or config.evaluate.articles
        ),
        "gate": {
            "macro_f1_floor": config.evaluate.macro_f1_floor,
            "against_best_baseline": config.evaluate.gate_against_best_baseline,
            "article_precision_floor": config.evaluate.article_precision_floor,
            "article_f1_floor": config.evaluate.article_f1_floor,
        },
        "versions": package_versions(("skops", "sentence-transformers")),
        "config": config_to_dict(config),
    }
    failures = check_gate(report)
    report["gate"].update({"passed": not failures, "failures": failures})
    return report, scored, split.test, baselines


def evaluate_model_on_articles(model_dir: str | Path, folder: str | Path) -> dict:
    """Article-level figures for one model folder, with the predict settings it was trained
    with (its `config.yaml`); no baselines and no test split."""
    from pipeline.cascade import load_classifier
    from pipeline.config import load_config

    config = load_config(Path(model_dir) / "config.yaml")
    classifier = load_classifier(model_dir, backend=config.evaluate.backend)
    return {
        "schema_version": METRICS_SCHEMA_VERSION,
        "created": utc_now(),
        "model_dir": str(model_dir),
        "articles": evaluate_articles_section(config, classifier, {}, folder),
    }


def _read_trained_metrics(model_dir: str | Path) -> dict | None:
    import json

    path = Path(model_dir) / "metrics.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def evaluate_file(
    model_dir: str | Path,
    data_paths: Sequence[str | Path],
    samples: int = 1000,
    seed: int = 13,
    device: str = "auto",
    backend: str = "torch",
) -> tuple[dict, list[ScoredModel], list[Statement]]:
    """Score a model on any labelled file(s) in the annotation format (a user's own gold data).

    Macro-F1 averages over the labels the gold data holds: a label with no gold statement has
    no defined F1, and counting it as 0 would understate every score. Predictions of such a
    label still count, as errors against the gold label. The report says which labels were
    averaged (`test.macro_f1_labels`), and a warning names the absent ones.
    """
    from pipeline.cascade import load_classifier

    statements = load_statements(data_paths)
    classifier = load_classifier(model_dir, device=device, backend=backend)
    resamples = bootstrap_indices(len(statements), samples, seed)
    present = [label for label in LABELS if any(s.label == label for s in statements)]
    absent = [label for label in LABELS if label not in present]
    if absent:
        log.warning(
            "%s: no gold statement is labelled %s; macro-F1 averages over the %d labels "
            "present (%s)",
            ", ".join(map(str, data_paths)),
            " or ".join(absent),
            len(present),
            ", ".join(present),
        )
    scored = [score(FINETUNED, f"model at {model_dir}", classifier, statements, resamples, present)]
    report = {
        "schema_version": METRICS_SCHEMA_VERSION,
        "run_name": Path(model_dir).parent.name,
        "created": utc_now(),
        "model_dir": str(model_dir),
        "primary_metric": "macro_f1",
        "labels": list(LABELS),
        "data": {
            "files": hash_files(data_paths),
            "split_method": None,
            "split_sizes": {"test": len(statements)},
        },
        "calibration": classifier.meta.get("calibration", {}),
        "backend": classifier.backend,
        "test": {
            "models": {m.name: {"description": m.description, **m.metrics} for m in scored},
            **compare(scored, statements, resamples),
            "macro_f1_labels": present,
        },
        "cross_validation": None,
        "gate": None,
        "versions": package_versions(),
        "config": classifier.meta.get("config"),
    }
    return report, scored, statements


def subsample_documents(
    statements: Sequence[Statement], fraction: float, seed: int
) -> list[Statement]:
    """About `fraction` of the statements, whole documents at a time, in a seeded order."""
    if fraction >= 1:
        return list(statements)
    documents = sorted({s.doc_id for s in statements})
    np.random.default_rng(seed).shuffle(documents)
    chosen, count, target = set(), 0, fraction * len(statements)
    sizes = {d: 0 for d in documents}
    for s in statements:
        sizes[s.doc_id] += 1
    for document in documents:
        if count >= target:
            break
        chosen.add(document)
        count += sizes[document]
    return [s for s in statements if s.doc_id in chosen]


def learning_curve(
    config: Config, fractions: Sequence[float] = (0.25, 0.5, 0.75, 1.0), progress: bool = True
) -> dict:
    """Fine-tune on growing fractions of the training split; test macro-F1 with intervals.

    Each fraction keeps whole documents (grouped, stratified subsample of train), and every
    model is scored on the same test split, so a curve still rising at 100% says that more
    labels would still help.
    """
    from pipeline.training import train

    statements, split = split_for_config(config)
    resamples = bootstrap_indices(len(split.test), config.evaluate.bootstrap_samples, config.seed)
    gold = np.array([LABELS.index(s.label) for s in split.test])
    points = []
    for fraction in fractions:
        subset = subsample_documents(split.train, fraction, config.seed)
        workdir = Path(tempfile.mkdtemp(prefix="curve-"))
        try:
            result = train(
                config,
                output_dir=workdir,
                progress=progress,
                split=Split(train=subset, dev=split.dev, test=split.test),
            )
            predicted = np.asarray(
                [
                    LABELS.index(label)
                    for label in result.classifier.predict_labels_from(
                        predict_statements(result.classifier, split.test)
                    )
                ]
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        points.append(
            {
                "fraction": fraction,
                "train_size": len(subset),
                "macro_f1": result.metrics["test"]["macro_f1"],
                "macro_f1_ci95": bootstrap_interval(gold, predicted, resamples),
            }
        )
        log.info("learning curve %s", points[-1])
    return {"points": points, "test_size": len(split.test)}


def plot_learning_curve(curve: dict, path: str | Path) -> None:
    """Macro-F1 against training size, with the 95% intervals as a band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [p["train_size"] for p in curve["points"]]
    scores = [p["macro_f1"] for p in curve["points"]]
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.fill_between(
        sizes,
        [p["macro_f1_ci95"][0] for p in curve["points"]],
        [p["macro_f1_ci95"][1] for p in curve["points"]],
        alpha=0.2,
    )
    axes.plot(sizes, scores, marker="o")
    axes.set_xlabel("training statements")
    axes.set_ylabel(f"test macro-F1 (n={curve['test_size']}, 95% CI)")
    axes.set_title("Learning curve")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
