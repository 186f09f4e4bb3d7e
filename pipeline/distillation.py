"""Distillation: a small model (the student) learns from a large one (the teacher) on a user's own
unlabelled articles, so scoring can be fast on CPU without losing most of the large model's gain.

`distill()` runs three steps:

1. The unlabelled inputs are read and segmented exactly as `stance predict` reads them, and the
   teacher scores every passage once; its probabilities (soft labels) are cached in the run
   folder and reused while the teacher and inputs are unchanged (`pipeline.teacher_labels`).
2. The student (the config's `model.base_model`) trains as `stance train` does, on the labelled
   training split, plus the soft labels (`training.SoftTargets`: KL divergence at
   `distill.temperature`, weighted by `distill.weight`). Its model folder records the teacher,
   the inputs and the settings in `meta.json: distillation`.
3. Teacher and student are evaluated on the same test split (macro-F1), on gold articles when a
   folder is given (the evaluation `stance evaluate --articles` runs), and timed on the same
   passages in this run; the table goes to `distill.json` in the run folder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config
from pipeline.errors import ModelFolderError, PipelineError
from pipeline.inputs import RENAMED
from pipeline.teacher_labels import (
    CACHE_FILE,
    SoftLabels,
    TeacherPassage,
    cache_key,
    reading_settings,
    soft_labels_for,
)

REPORT_FILE = "distill.json"
# Passages each model scores for the passages/s column (the first N unlabelled ones).
SPEED_PASSAGES = 2000


@dataclass(frozen=True)
class DistillResult:
    """The student's model folder, the comparison table and the full report."""

    model_dir: Path
    table: list[dict]
    report: dict
    soft_labels: SoftLabels


def check_teacher_folder(path: str | Path) -> Path:
    """The teacher's model folder, checked before anything is read or trained.

    Raises:
        ModelFolderError: not a folder, or not a complete model folder.
    """
    from pipeline.classifier import check_model_folder

    folder = Path(path)
    if not folder.is_dir():
        raise ModelFolderError(
            f"{folder}: teacher model folder not found; give --teacher the model-best folder of "
            "a trained model, e.g. models/default/model-best (`stance train` writes it)"
        )
    return check_model_folder(folder)


def check_run_folder(run_dir: Path, teacher_dir: Path) -> None:
    """Refuse a run folder that would replace the teacher or write inside it: the student's
    `model-best/` takes the place of any folder of that name, and files written inside the
    teacher change the hash its cached soft labels are keyed by.

    Raises:
        PipelineError: naming both folders.
    """
    run, teacher = run_dir.resolve(), teacher_dir.resolve()
    student = run / "model-best"
    if student == teacher or student in teacher.parents:
        what = "replace the teacher model folder"
    elif run == teacher or teacher in run.parents:
        what = "write inside the teacher model folder"
    else:
        return
    raise PipelineError(
        f"{run_dir}: --out would {what} {teacher_dir} (the student is written to "
        f"{run_dir / 'model-best'}); choose an --out outside the teacher's folder, e.g. "
        "models/<run_name>-distilled"
    )


def check_teacher_labels(teacher, teacher_dir: Path) -> None:
    """Refuse a teacher whose labels are not the student's: its probability columns would
    teach the student another label set.

    Raises:
        ModelFolderError: naming the teacher's meta.json and both label sets.
    """
    from pipeline.labels import LABELS

    if sorted(teacher.labels) != sorted(LABELS):
        raise ModelFolderError(
            f"{teacher_dir / 'meta.json'}: labels: the teacher's labels {list(teacher.labels)} "
            f"are not the student's {list(LABELS)}; give --teacher a model trained on this "
            "label set"
        )


def no_passages_error(inputs: list[str], labels: SoftLabels, shown: int = 5) -> PipelineError:
    """Why no passage was read, with the skipped inputs named (the command prints them only
    after a run that completes)."""
    skipped = [p for p in labels.problems if p.get("action") != RENAMED]
    lines = [
        f"skipped {p['input']}{':' + str(p['line']) if p.get('line') else ''}: {p['reason']}"
        for p in skipped[:shown]
    ]
    if len(skipped) > shown:
        lines.append(f"... and {len(skipped) - shown} more skipped input(s)")
    if not skipped and not labels.documents:
        reason = "they hold no articles (an empty file or folder?)"
    elif not skipped:
        reason = f"the {labels.documents} article(s) read have no text to score"
    else:
        reason = f"{len(skipped)} input(s) skipped"
    return PipelineError(
        "\n".join(
            [
                f"no passages to distil from in {', '.join(inputs)}: {reason}; give articles "
                "in a format predict reads",
                *lines,
            ]
        )
    )


def passages_per_second(model, passages: list[TeacherPassage]) -> float:
    """How fast `model` scores these passages (after a short warm-up), with its own context."""
    from pipeline.context import passage_contexts

    mode = getattr(model, "context", "none")
    texts = [p.text for p in passages]
    contexts = None if mode == "none" else passage_contexts(passages, mode)
    model.predict_proba(texts[:8], None if contexts is None else contexts[:8])
    started = time.perf_counter()
    model.predict_proba(texts, contexts)
    return len(texts) / max(time.perf_counter() - started, 1e-9)


def teacher_split_note(teacher, config: Config) -> str | None:
    """A warning when the teacher was trained on another corpus or split than the student's
    config draws its test split from: the teacher may have trained on those test statements."""
    from pipeline.annotations import hash_files

    trained = teacher.meta.get("config") or {}
    same_split = (
        all(
            trained.get("data", {}).get(key) == getattr(config.data, key)
            for key in ("split", "dev_fraction", "test_fraction")
        )
        and trained.get("seed") == config.seed
    )
    same_files = (teacher.meta.get("data") or {}).get("files") == hash_files(config.data.paths)
    if same_split and same_files:
        return None
    return (
        "the teacher was trained on another corpus or split than this config's, so its test "
        "figure may include statements it trained on (optimistic)"
    )


def evaluate_models(
    models: dict,
    config: Config,
    test: list,
    articles: str | Path | None,
    speed_passages: list[TeacherPassage],
) -> list[dict]:
    """One row per model: macro-F1 on the `test` statements with its interval, article-level
    stance P/R/F1 on the gold articles (when given), passages/s on `speed_passages`."""
    from pipeline.evaluation import FINETUNED, bootstrap_indices, evaluate_articles_section, score

    resamples = bootstrap_indices(len(test), config.evaluate.bootstrap_samples, config.seed)
    rows = []
    for name, model in models.items():
        scored = score(name, str(model.folder), model, test, resamples)
        row = {
            "model": name,
            "folder": str(model.folder),
            "base_model": (model.meta.get("base_model") or {}).get("name"),
            "test_macro_f1": scored.metrics["macro_f1"],
            "test_macro_f1_ci95": scored.metrics["macro_f1_ci95"],
            "test_n": len(test),
            "passages_per_second": round(passages_per_second(model, speed_passages), 1),
            "speed_passages": len(speed_passages),
        }
        if articles:
            section = evaluate_articles_section(config, model, {}, articles)
            figures = section["models"][FINETUNED]["all"]
            row.update(
                {
                    f"article_{key}": figures[f"stance_{key}"]
                    for key in ("precision", "recall", "f1")
                }
            )
        rows.append(row)
    return rows


def distill(
    config: Config,
    teacher_dir: str | Path,
    inputs: list[str],
    output_dir: str | Path | None = None,
    articles: str | Path | None = None,
    progress: bool = True,
) -> DistillResult:
    """Train the config's model on the labelled split plus the teacher's soft labels over
    `inputs`; evaluate teacher and student side by side.

    Args:
        config: the student's run config (its `distill` section sets temperature, weight and
            the passage limit; its `predict` section how the inputs are read).
        teacher_dir: the teacher's model folder.
        inputs: unlabelled articles: files, folders and globs in any format predict reads.
        output_dir: the run folder; default `models/<run_name>-distilled`.
        articles: a gold-articles folder to evaluate both models on, end to end.

    Returns:
        DistillResult with the student's model folder, the table and the report.

    Raises:
        ModelFolderError: the teacher folder is missing or incomplete, or its labels are not
            the student's.
        PipelineError: an input is missing, the output lies among the inputs, replaces the
            teacher or lies inside it, or cannot be written; the articles folder is missing;
            no passage could be read.
        DataError: as `stance train` (annotations, too few examples of a label).
        ConfigError: as `stance train` (the actor dictionary; with `parties.enabled`, the
            party extractor's base model).
    """
    from pipeline.actors import load_actor_dictionary
    from pipeline.base_models import resolve_base_model
    from pipeline.cascade import load_classifier
    from pipeline.context import passage_contexts
    from pipeline.inputs import resolve_inputs
    from pipeline.onnx_backend import ONNX_DIR
    from pipeline.outputs import prepare_output_folder, write_json
    from pipeline.provenance import hash_folder, utc_now
    from pipeline.splits import split_for_config
    from pipeline.training import (
        SoftTargets,
        actor_dictionary_to_copy,
        check_label_counts,
        check_party_training,
        train,
    )

    teacher_dir = check_teacher_folder(teacher_dir)
    if articles and not Path(articles).is_dir():
        raise PipelineError(
            f"{articles}: gold-articles folder not found (--articles wants a folder with "
            "articles.jsonl and sentences.jsonl)"
        )
    run_dir = Path(output_dir) if output_dir else Path("models") / f"{config.run_name}-distilled"
    check_run_folder(run_dir, teacher_dir)
    cache_path = run_dir / CACHE_FILE
    files = resolve_inputs(inputs, [cache_path], option="--out")
    # An unwritable --out is refused now, not after the teacher's long scoring pass.
    prepare_output_folder(cache_path)
    # What training would refuse is refused before the teacher's long scoring pass.
    _, split = split_for_config(config)
    check_label_counts(split, config.train.min_examples_per_label)
    resolve_base_model(config.model.base_model)
    if config.parties.enabled:
        check_party_training(config, actor_dictionary_to_copy(config))
    # The teacher alone: a cascade in its folder would give the screen's probabilities instead.
    teacher = load_classifier(
        teacher_dir, cascade=False, device=config.train.device, backend=config.predict.backend
    )
    check_teacher_labels(teacher, teacher_dir)
    teacher_hash = hash_folder(teacher_dir, exclude=(ONNX_DIR,))
    actors = load_actor_dictionary(config.predict.actors, teacher_dir)
    key = cache_key(teacher_hash, files, config.predict, config.distill.max_passages)
    labels = soft_labels_for(teacher, key, inputs, config, actors, cache_path, progress)
    if not labels.passages:
        raise no_passages_error(inputs, labels)
    mode = config.model.context
    record = {
        "teacher": {
            "folder": str(teacher_dir),
            "sha256": teacher_hash,
            "base_model": teacher.meta.get("base_model"),
            "context": teacher.context,
            "backend": teacher.backend,
        },
        "unlabelled": {
            "inputs": list(inputs),
            "files": [{"path": path, "sha256": digest} for path, digest in key["files"]],
            "documents": labels.documents,
            "passages": len(labels.passages),
            "skipped_inputs": sum(1 for p in labels.problems if p.get("action") != RENAMED),
            "max_passages": config.distill.max_passages,
            "predict_settings": reading_settings(config.predict),
        },
        "cache": {"file": str(cache_path), "status": labels.cache},
    }
    result = train(
        config,
        output_dir=run_dir,
        progress=progress,
        split=split,
        soft_targets=SoftTargets(
            texts=[p.text for p in labels.passages],
            contexts=None if mode == "none" else passage_contexts(labels.passages, mode),
            probabilities=labels.probabilities,
            temperature=config.distill.temperature,
            weight=config.distill.weight,
            record=record,
        ),
    )
    student = load_classifier(
        result.model_dir, device=config.train.device, backend=config.predict.backend
    )
    table = evaluate_models(
        {"teacher": teacher, "student": student},
        config,
        split.test,
        articles,
        labels.passages[:SPEED_PASSAGES],
    )
    report = {
        "created": utc_now(),
        "student": str(result.model_dir),
        "teacher": record["teacher"],
        "unlabelled": {k: v for k, v in record["unlabelled"].items() if k != "files"},
        "cache": record["cache"],
        "problems": labels.problems,
        "backend": config.predict.backend,
        "articles": str(articles) if articles else None,
        "teacher_split_note": teacher_split_note(teacher, config),
        "table": table,
    }
    write_json(report, run_dir / REPORT_FILE)
    return DistillResult(result.model_dir, table, report, labels)
