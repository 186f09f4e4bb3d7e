"""The `stance` command: thin wrappers over the library that print results and pick exit codes.

Exit codes: 0 ok, 1 user or data error, 2 usage error, 3 quality gate failed.
"""

from __future__ import annotations

import json
import logging
import sys

import click

from pipeline.errors import EXIT_DATA_ERROR, PipelineError


def _fail(error: PipelineError) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(error.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
def cli(verbose: bool) -> None:
    """Stance toward talks (accept / reject / conditional / none) in news passages."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--sources",
    type=click.Path(file_okay=False),
    help="The folder of source documents for offset checks; sources are read only inside "
    "it [default: the nearest sources/ beside or above each annotation file].",
)
def validate(paths: tuple[str, ...], sources: str | None) -> None:
    """Check annotation files; print every problem as file:line: field: message."""
    from pipeline.annotations import validate as validate_files

    try:
        records, problems = validate_files(paths, sources)
    except PipelineError as error:
        _fail(error)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s) in {len(records)} valid record(s)", err=True)
        sys.exit(EXIT_DATA_ERROR)
    click.echo(f"ok: {len(records)} statements, no problems")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.option("--brief", is_flag=True, help="Only the label and news-section tables.")
def stats(paths: tuple[str, ...], as_json: bool, brief: bool) -> None:
    """Print counts per label, source, news section, conflict and holder."""
    from pipeline.annotations import load_statements
    from pipeline.stats import STAT_FIELDS, format_table, label_counts_by

    try:
        statements = load_statements(paths)
    except PipelineError as error:
        _fail(error)
    fields = ("label", "section") if brief else STAT_FIELDS
    tables = {field: label_counts_by(statements, field) for field in fields}
    if as_json:
        click.echo(
            json.dumps({f: {k: dict(v) for k, v in t.items()} for f, t in tables.items()}, indent=2)
        )
        return
    click.echo(f"{len(statements)} statements\n")
    for field, table in tables.items():
        click.echo(format_table(field, table) + "\n")


def _overrides(values: tuple[str, ...]) -> dict:
    from pipeline.config import parse_override

    return dict(parse_override(v) for v in values)


config_option = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="YAML run config, e.g. configs/default.yaml.",
)
set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override an existing config key, e.g. --set train.epochs=3 (repeatable).",
)


@cli.command()
@config_option
@set_option
@click.option(
    "--output", type=click.Path(file_okay=False), help="Run folder [default: models/<run_name>]."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(config_path: str, overrides: tuple[str, ...], output: str | None, quiet: bool) -> None:
    """Fine-tune the base model named in the config; write models/<run>/model-best/."""
    from pipeline.config import load_config
    from pipeline.training import train as run_training

    try:
        config = load_config(config_path, _overrides(overrides))
        result = run_training(config, output_dir=output, progress=not quiet)
    except PipelineError as error:
        _fail(error)
    test = result.metrics["test"]
    click.echo(f"model: {result.model_dir}")
    click.echo(
        f"test macro-F1: {test['macro_f1']:.3f}  accuracy: {test['accuracy']:.3f}  "
        f"(n={test['n']}, best epoch {result.meta['training']['best_epoch']}, "
        f"{result.meta['training']['seconds']} s)"
    )
    for label, scores in test["per_class"].items():
        click.echo(
            f"  {label:<12} P {scores['precision']:.3f}  R {scores['recall']:.3f}  "
            f"F1 {scores['f1']:.3f}  n={scores['support']}"
        )


@cli.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Evaluate this run against its baselines on the config's test split.",
)
@set_option
@click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False),
    help="Model folder [default with --config: models/<run_name>/model-best].",
)
@click.option(
    "--data",
    "data_paths",
    multiple=True,
    type=click.Path(),
    help="With --model: score this labelled file in the annotation format.",
)
@click.option(
    "--cv",
    "cv",
    type=click.Choice(["doc", "conflict"]),
    is_flag=False,
    flag_value="doc",
    default=None,
    help="Also cross-validate the fine-tuned model (trains one model per fold): by document "
    "(`--cv`, `--cv doc`) or leaving one conflict out (`--cv conflict`).",
)
@click.option(
    "--cv-baselines-only",
    is_flag=True,
    help="With --cv: cross-validate the baselines only (fast), with the chosen grouping.",
)
@click.option(
    "--cv-max-folds",
    type=click.IntRange(min=1),
    default=None,
    help="With --cv: run only the first N folds (with --cv conflict: the N conflicts with the "
    "most statements); each fine-tuned fold is a whole training run.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    help="Report folder [default: <evaluate.report_dir>/<run_name>].",
)
@click.option("--no-gate", is_flag=True, help="Report only; do not exit 3 when the gate fails.")
@click.option(
    "--allow-changed-corpus",
    is_flag=True,
    help="Evaluate a model trained on another version of the annotations (refused by default: "
    "the recomputed test split may hold statements it trained on); recorded in metrics.json.",
)
@click.option(
    "--articles",
    "articles_dir",
    type=click.Path(file_okay=False),
    help="Gold-articles folder (articles.jsonl + sentences.jsonl) scored end to end "
    "[default: evaluate.articles].",
)
@click.option(
    "--learning-curve",
    "curve",
    is_flag=True,
    help="With --config: fine-tune on 25/50/75/100% of train and plot test macro-F1.",
)
def evaluate(
    config_path,
    overrides,
    model_dir,
    data_paths,
    cv,
    cv_baselines_only,
    cv_max_folds,
    output,
    no_gate,
    allow_changed_corpus,
    articles_dir,
    curve,
) -> None:
    """Compare the fine-tuned model with baselines, or score a model on a labelled file.

    \b
    stance evaluate --config configs/default.yaml
    stance evaluate --model models/default/model-best --data my_gold.jsonl
    """
    from pathlib import Path

    from pipeline.config import load_config
    from pipeline.evaluation import enforce_gate, evaluate_file, evaluate_run
    from pipeline.evaluation_report import write_report

    try:
        if curve:
            if not config_path:
                raise click.UsageError("--learning-curve needs --config")
            from pipeline.evaluation import learning_curve, plot_learning_curve
            from pipeline.outputs import write_json

            config = load_config(config_path, _overrides(overrides))
            folder = Path(output or Path(config.evaluate.report_dir) / config.run_name)
            folder.mkdir(parents=True, exist_ok=True)
            result = learning_curve(config)
            write_json(result, folder / "learning_curve.json")
            plot_learning_curve(result, folder / "learning_curve.png")
            for point in result["points"]:
                low, high = point["macro_f1_ci95"]
                click.echo(
                    f"{point['train_size']:>6} statements: macro-F1 "
                    f"{point['macro_f1']:.3f} [{low:.3f}, {high:.3f}]"
                )
            click.echo(f"curve: {folder / 'learning_curve.png'}")
            return
        if cv_max_folds and not cv:
            raise click.UsageError("--cv-max-folds needs --cv")
        if config_path:
            config = load_config(config_path, _overrides(overrides))
            model_dir = model_dir or str(Path("models") / config.run_name / "model-best")
            if not Path(model_dir).exists():
                raise PipelineError(
                    f"{model_dir}: no trained model; run "
                    f"`stance train --config {config_path}` first"
                )
            report, scored, statements, baselines = evaluate_run(
                config,
                model_dir,
                cross_validation=config.evaluate.baseline_cv or bool(cv),
                finetuned_cv=bool(cv) and not cv_baselines_only,
                articles_folder=articles_dir,
                cv_by="conflict" if cv == "conflict" else "doc_id",
                allow_changed_corpus=allow_changed_corpus,
                cv_max_folds=cv_max_folds,
            )
            folder = Path(output or Path(config.evaluate.report_dir) / config.run_name)
            for name, baseline in baselines.items():
                baseline.save(Path(model_dir).parent / "baselines" / name)
        elif model_dir and articles_dir and not data_paths:
            from pipeline.evaluation import evaluate_model_on_articles
            from pipeline.evaluation_report import article_markdown, write_articles_report

            report = evaluate_model_on_articles(model_dir, articles_dir)
            folder = Path(output or Path("reports") / f"{Path(model_dir).parent.name}-articles")
            write_articles_report(report, folder)
            click.echo("\n".join(article_markdown(report["articles"])))
            click.echo(f"report: {folder}")
            return
        elif model_dir and data_paths:
            report, scored, statements = evaluate_file(model_dir, data_paths)
            folder = Path(
                output
                or Path("reports") / f"{Path(model_dir).parent.name}-{Path(data_paths[0]).stem}"
            )
        else:
            raise click.UsageError(
                "give --config FILE, or --model DIR with --data FILE or --articles DIR"
            )
        write_report(report, scored, statements, folder)
        click.echo((folder / "comparison.md").read_text(encoding="utf-8"))
        click.echo(f"report: {folder}")
        if report.get("gate") and not no_gate:
            enforce_gate(report)
    except PipelineError as error:
        _fail(error)


@cli.command()
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="The large model folder, e.g. models/default/model-best.",
)
@click.option(
    "--screen",
    "screen_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="A small model folder trained on the same labels, e.g. models/minilm/model-best.",
)
@click.option(
    "--recall",
    "target_recall",
    default=0.99,
    show_default=True,
    help="Share of dev stance statements the screen must pass on to the large model.",
)
def cascade(model_dir: str, screen_dir: str, target_recall: float) -> None:
    """Put a small model in front of a large one: it screens every passage, the large model
    re-scores only likely stance passages. Stored in the large model folder; used by predict,
    evaluate and the Ray engine. Rerun to replace; delete `screen/` and meta.json's `cascade`
    to remove."""
    from pipeline.cascade import build_cascade

    try:
        record = build_cascade(model_dir, screen_dir, target_recall)
    except PipelineError as error:
        _fail(error)
    click.echo(
        f"cascade: screen threshold {record['threshold']:.4f}; on dev it passes "
        f"{record['dev_pass_rate']:.1%} of statements to the model, keeps "
        f"{record['dev_stance_recall']:.1%} of stance statements, and agrees with the model "
        f"alone on {record['dev_agreement_with_model_alone']:.1%} of labels"
    )


@cli.command()
@click.option(
    "--teacher",
    "teacher_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="The large model folder whose probabilities the student learns, e.g. "
    "models/default/model-best.",
)
@click.option(
    "--unlabelled",
    multiple=True,
    required=True,
    metavar="INPUT",
    help="Unlabelled articles: files, folders or globs in any format predict reads; further "
    "INPUTs may follow (--unlabelled a.jsonl b.jsonl news/).",
)
@click.argument("more_inputs", nargs=-1, metavar="[INPUT]...")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default="configs/minilm.yaml",
    show_default=True,
    help="The student's config: model.base_model is the student; the distill section sets "
    "temperature, weight and max_passages; the predict section how inputs are read.",
)
@set_option
@click.option(
    "--out",
    "output",
    type=click.Path(file_okay=False),
    help="Run folder: the student's model-best/, the teacher's cached probabilities and "
    "distill.json [default: models/<run_name>-distilled].",
)
@click.option(
    "--articles",
    "articles_dir",
    type=click.Path(file_okay=False),
    help="Gold-articles folder (articles.jsonl + sentences.jsonl) to score both models on, as "
    "`stance evaluate --articles` does.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def distill(
    teacher_dir, unlabelled, more_inputs, config_path, overrides, output, articles_dir, quiet
) -> None:
    """Train a small model (the student) on a large model's probabilities over unlabelled
    articles, beside the labelled training split; then compare both on the test split.

    \b
    stance distill --teacher models/default/model-best --unlabelled my_news/ \\
        --config configs/minilm.yaml --articles ../shared/realnews
    """
    from pipeline.config import load_config
    from pipeline.distillation import check_teacher_folder
    from pipeline.distillation import distill as run_distill

    try:
        check_teacher_folder(teacher_dir)  # before the config and inputs: the usual mistake
        config = load_config(config_path, _overrides(overrides))
        result = run_distill(
            config,
            teacher_dir,
            [*unlabelled, *more_inputs],
            output_dir=output,
            articles=articles_dir,
            progress=not quiet,
        )
    except PipelineError as error:
        _fail(error)
    _echo_input_problems(result.soft_labels.problems)
    unlabelled_record = result.report["unlabelled"]
    click.echo(
        f"teacher probabilities: {unlabelled_record['passages']} passages of "
        f"{unlabelled_record['documents']} articles, {unlabelled_record['skipped_inputs']} "
        f"skipped inputs (cache {result.report['cache']['status']}: "
        f"{result.report['cache']['file']})"
    )
    click.echo(f"student: {result.model_dir}")
    _echo_distill_table(result.table)
    if result.report["teacher_split_note"]:
        click.echo(f"note: {result.report['teacher_split_note']}", err=True)


def _echo_input_problems(problems: list[dict]) -> None:
    """`skipped FILE:LINE: reason` (or `renamed ...`) on stderr for each input problem."""
    from pipeline.inputs import RENAMED

    for problem in problems:
        action = "renamed" if problem.get("action") == RENAMED else "skipped"
        where = f"{problem['input']}:{problem['line']}" if problem.get("line") else problem["input"]
        click.echo(f"{action} {where}: {problem['reason']}", err=True)


def _echo_distill_table(rows: list[dict]) -> None:
    """Teacher and student side by side: test macro-F1, article P/R/F1, passages/s."""

    def figure(value) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    click.echo(
        f"{'model':<8} {'base model':<24} {'test macro-F1 [95% CI]':<24} "
        f"{'article P / R / F1':<23} passages/s"
    )
    for row in rows:
        low, high = row["test_macro_f1_ci95"]
        article = (
            " / ".join(figure(row[f"article_{k}"]) for k in ("precision", "recall", "f1"))
            if "article_f1" in row
            else "(no --articles)"
        )
        click.echo(
            f"{row['model']:<8} {str(row['base_model'])[:24]:<24} "
            f"{row['test_macro_f1']:.3f} [{low:.3f}, {high:.3f}]   {article:<23} "
            f"{row['passages_per_second']:.1f}"
        )


@cli.command()
@click.argument("metrics_file", type=click.Path(dir_okay=False, exists=True))
def gate(metrics_file: str) -> None:
    """Apply the quality gate recorded in a metrics.json; exit 3 when it fails."""
    from pipeline.evaluation import check_gate, read_metrics_report

    try:
        report = read_metrics_report(metrics_file)
    except PipelineError as error:
        _fail(error)
    failures = check_gate(report)
    if failures:
        for reason in failures:
            click.echo(f"gate failed: {reason}", err=True)
        sys.exit(3)
    click.echo("gate passed")


@cli.command()
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Model folder, e.g. models/default/model-best.",
)
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Passages file: .jsonl, .csv or .parquet; summaries are written beside it.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config whose predict section to use [default: the model's own config].",
)
@set_option
@click.option(
    "--unit",
    type=click.Choice(["sentence", "record"]),
    help="record: score each record whole, without segmentation.",
)
@click.option("--actors", type=click.Path(dir_okay=False), help="Actor dictionary YAML.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--strict", is_flag=True, help="Exit 1 if any input was skipped.")
@click.option("--overwrite", is_flag=True, help="Start over instead of resuming.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--show",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Print up to N stance passages (accept/reject/conditional) when done.",
)
def predict(
    model_dir,
    inputs,
    output,
    config_path,
    overrides,
    unit,
    actors,
    engine,
    device,
    strict,
    overwrite,
    quiet,
    show,
) -> None:
    """Score articles (files, folders, globs) into passages with stance, holder and summaries.

    \b
    stance predict --model models/default/model-best annotations/sources --output out/passages.jsonl
    """
    from pathlib import Path

    from pipeline.classifier import check_model_folder
    from pipeline.config import load_config

    try:
        folder = check_model_folder(model_dir)
        config = load_config(config_path or folder / "config.yaml", _overrides(overrides))
        options = config.predict
        if unit:
            options = options.model_copy(update={"unit": unit})
        if actors:
            options = options.model_copy(update={"actors": actors})
        from pipeline.prediction.run import predict as run_predict

        manifest = run_predict(
            str(folder),
            list(inputs),
            Path(output),
            options,
            device=device,
            progress=not quiet,
            overwrite=overwrite,
            engine=engine,
        )
    except PipelineError as error:
        _fail(error)
    except KeyboardInterrupt:
        click.echo(
            "interrupted: finished shards are kept; rerun the same command to resume", err=True
        )
        sys.exit(130)
    counts = manifest["counts"]
    if manifest.get("already_complete"):
        click.echo(
            f"already complete: {output} was written on {manifest.get('finished')} from these "
            "inputs, model and settings; nothing scored (--overwrite scores again)"
        )
    renamed = counts.get("renamed_ids", 0)
    click.echo(
        f"{counts['documents']} articles, {counts['passages']} passages, "
        f"{counts['errors']} skipped inputs"
        + (f", {renamed} duplicate ids renamed" if renamed else "")
        + f"; labels {counts['labels']}"
    )
    for name, path in manifest["outputs"].items():
        click.echo(f"  {name:<9} {path}")
    if show:
        _show_stance_passages(manifest["outputs"]["passages"], show)
    if strict and counts["errors"]:
        click.echo(
            f"error: {counts['errors']} input(s) skipped (see {manifest['outputs']['errors']})",
            err=True,
        )
        sys.exit(1)


def _show_stance_passages(path: str, limit: int) -> None:
    """Print the stance passages of a predict output, whatever its format."""
    from pipeline.prediction.rows import read_passages

    rows = read_passages(path)
    stance = [r for r in rows if r["label"] != "none"]
    shown = f" (first {limit})" if len(stance) > limit else ""
    click.echo(f"\n{len(stance)} stance passages{shown}:")
    for row in stance[:limit]:
        text = " ".join(row["text"].split())
        more = "..." if len(text) > 110 else ""
        click.echo(
            f"  [{row['label']:<11} {row['confidence']:.2f}] {row['holder']:<18} {text[:110]}{more}"
        )


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--actors",
    type=click.Path(dir_okay=False),
    help="Actor dictionary YAML [default: the --model folder's, else configs/actors.yaml].",
)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False),
    help="Use the actor dictionary this model folder carries, and measure its party extractor.",
)
@click.option(
    "--errors",
    "show_errors",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Also print N misattributed statements (holders, then targets).",
)
@click.option(
    "--split",
    "split_name",
    type=click.Choice(["all", "train", "dev", "test"]),
    default="all",
    show_default=True,
    help="Measure on this part of the split --config draws from PATHS (test: the held-out "
    "statements when PATHS are the config's data paths).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default="configs/default.yaml",
    show_default=True,
    help="The config whose seed, split method and fractions --split uses.",
)
def holders(
    paths: tuple[str, ...],
    actors: str | None,
    model_dir: str | None,
    show_errors: int,
    split_name: str,
    config_path: str,
) -> None:
    """Measure holder and target attribution against the `holder` and `target` fields of
    annotations (stance statements; targets where one is annotated). With --model whose folder
    carries a party extractor (`parties/`), the extractor is measured beside the dictionary
    rules."""
    from pipeline.actors import holder_accuracy, load_actor_dictionary
    from pipeline.annotations import load_statements
    from pipeline.classifier import check_model_folder
    from pipeline.parties import load_party_attribution

    try:
        # A --model that is not a model folder (a typo, its parties/ folder) is refused before
        # any measuring, not measured silently with the default dictionary and no extractor.
        parties = None
        if model_dir:
            check_model_folder(model_dir)
            parties = load_party_attribution(model_dir)
        statements = load_statements(paths)
        if split_name != "all":
            statements = _split_part(statements, split_name, config_path)
        dictionary = load_actor_dictionary(actors, model_dir)
        results = {"dictionary rules": holder_accuracy(statements, dictionary)}
        if not results["dictionary rules"]["overall"]:
            raise PipelineError(
                f"{', '.join(paths)}: no stance statements with a holder to measure attribution on"
            )
        if parties is not None:
            results["party extractor"] = holder_accuracy(statements, dictionary, parties=parties)
    except PipelineError as error:
        _fail(error)
    for method, result in results.items():
        targets = result["targets"]
        click.echo(f"{method}")
        click.echo(f"{'':<14} {'holder':<21}   target")
        for name in ["overall", *result["by_source"]]:
            holder = result["overall"] if name == "overall" else result["by_source"][name]
            target = targets["overall"] if name == "overall" else targets["by_source"].get(name)
            click.echo(f"{name:<14} {_accuracy_cell(holder)}   {_accuracy_cell(target)}")
        for field, errors in (("holder", result["errors"]), ("target", targets["errors"])):
            for error in errors[:show_errors]:
                click.echo(
                    f"  {error['id']}: expected {field} {error[field]!r}, got "
                    f"{error['predicted']!r}: {error['text'][:100]}"
                )


def _accuracy_cell(row: dict | None) -> str:
    """`correct / n = accuracy`, or n/a where nothing was measured."""
    if not row:
        return f"{'n/a':<21}"
    return f"{row['correct']:>5} / {row['n']:<5} = {row['accuracy']:.3f}"


def _split_part(statements, split_name: str, config_path: str):
    """The `split_name` part of the split the config's seed, method and fractions give."""
    from pipeline.config import load_config
    from pipeline.splits import make_split

    config = load_config(config_path)
    data = config.data
    split = make_split(statements, data.split, config.seed, data.dev_fraction, data.test_fraction)
    return getattr(split, split_name)


@cli.command()
@click.argument("predictions", type=click.Path(dir_okay=False))
@click.option(
    "--output", required=True, type=click.Path(dir_okay=False), help="The HTML file to write."
)
@click.option(
    "--full-articles",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Embed the full text of this many articles (all: stance passages).",
)
def report(predictions: str, output: str, full_articles: int) -> None:
    """Write a self-contained HTML report of a `stance predict` output (works offline)."""
    from pipeline.report import write_report

    try:
        path = write_report(predictions, output, max_full_articles=full_articles)
    except PipelineError as error:
        _fail(error)
    click.echo(f"report: {path.resolve()}")


@cli.command(name="export-events")
@click.argument("passages", type=click.Path(dir_okay=False))
@click.argument("output", metavar="OUT", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["plover"]),  # pipeline.events.EVENT_FORMATS
    default="plover",
    show_default=True,
    help="Record format: PLOVER-style JSON Lines.",
)
@click.option(
    "--actors",
    type=click.Path(dir_okay=False),
    help="Actor dictionary with actor codes [default: the one the run used].",
)
@click.option("--strict", is_flag=True, help="Exit 1 if any row was skipped as bad.")
def export_events_command(
    passages: str, output: str, fmt: str, actors: str | None, strict: bool
) -> None:
    """Write the stance passages of a `stance predict` output as event records (JSON Lines):
    one per stance passage with a known holder, for event-data tools.

    \b
    stance export-events out/passages.jsonl out/events.jsonl --format plover
    """
    from pipeline.events import export_events

    try:
        result = export_events(passages, output, fmt, actors)
    except PipelineError as error:
        _fail(error)
    for problem in result.problems:
        click.echo(f"skipped {problem}", err=True)
    events = ", ".join(f"{name} {n}" for name, n in sorted(result.events.items())) or "none"
    click.echo(
        f"{result.written} events -> {output} ({fmt}: {events}); left out: {result.no_stance} "
        f"passages without a stance, {result.no_actor} stance passages without a known holder; "
        f"{result.undated} events without a date; {len(result.problems)} bad row(s) skipped"
    )
    if strict and result.problems:
        sys.exit(EXIT_DATA_ERROR)


@cli.command(name="agreement")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--disagreements",
    type=click.Path(dir_okay=False),
    help="Write the items to adjudicate to this JSONL file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print all statistics as JSON.")
def agreement_command(files: tuple[str, ...], disagreements: str | None, as_json: bool) -> None:
    """Inter-annotator agreement between annotation files (JSONL or CSV with id,label).

    Cohen's kappa per pair, Krippendorff's alpha over all, per-label agreement, the annotator
    confusion matrix and the disagreements to adjudicate.
    """
    from pathlib import Path

    from pipeline.agreement import agreement, read_labels
    from pipeline.inputs import resolve_inputs
    from pipeline.outputs import write_jsonl

    try:
        if len(files) < 2:
            raise click.UsageError("give at least two annotation files")
        if disagreements:  # never written over one of the annotation files compared
            resolve_inputs(files, [disagreements], "annotations", option="--disagreements")
        names = [Path(f).stem for f in files]
        if len(set(names)) < len(names):  # same file name in two folders: name them by path
            names = list(files)
        result = agreement([read_labels(f) for f in files], names)
        if disagreements:
            write_jsonl(result["disagreements"], disagreements)
    except PipelineError as error:
        _fail(error)
    for name, only in result["only_in_one_file"].items():
        if only:
            shown = ", ".join(only[:10]) + (", ..." if len(only) > 10 else "")
            click.echo(
                f"warning: {len(only)} item(s) labelled only in {name}, left out of every "
                f"figure: {shown}",
                err=True,
            )
    if as_json:
        click.echo(json.dumps(result, indent=2, allow_nan=False))  # undefined figures are null
        return

    def figure(value: float | None) -> str:
        return "undefined" if value is None else f"{value:.3f}"

    click.echo(
        f"{result['items']} items labelled by 2+ annotators; "
        f"Krippendorff's alpha (nominal) {figure(result['krippendorff_alpha'])}"
    )
    if result["krippendorff_alpha"] is None:
        click.echo(
            "  (undefined: every item carries the same label, so agreement cannot be told "
            "apart from chance)"
        )
    for pair in result["pairs"]:
        a, b = pair["annotators"]
        click.echo(
            f"\n{a} vs {b}: {pair['items']} items, observed agreement "
            f"{figure(pair['observed_agreement'])}, Cohen's kappa {figure(pair['cohen_kappa'])}"
        )
        if not pair["items"]:
            continue
        for label, stats in pair["per_label"].items():
            specific = stats["specific_agreement"]
            click.echo(
                f"  {label:<12} specific agreement "
                f"{'-' if specific is None else f'{specific:.3f}'}  kappa {figure(stats['kappa'])}"
            )
        labels = pair["confusion_matrix"]["labels"]
        click.echo(
            f"  confusion ({a} rows, {b} columns): " + " ".join(f"{x[:4]:>5}" for x in labels)
        )
        for label, row in zip(labels, pair["confusion_matrix"]["matrix"], strict=True):
            click.echo(f"    {label:<12}" + "".join(f"{v:>6}" for v in row))
    click.echo(
        f"\n{len(result['disagreements'])} disagreements to adjudicate"
        + (f" (written to {disagreements})" if disagreements else "")
    )


@cli.command()
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False))
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--n",
    "count",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Passages to propose.",
)
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Suggestions in the annotation format (.jsonl).",
)
@click.option(
    "--strategy",
    type=click.Choice(["entropy", "margin"]),
    default="entropy",
    show_default=True,
    help="How uncertainty is measured.",
)
@click.option(
    "--random-share",
    type=click.FloatRange(0, 1),
    default=0.1,
    show_default=True,
    help="Share of the suggestions drawn at random, to keep estimates honest.",
)
@click.option(
    "--per-article",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="At most this many suggestions from one article.",
)
@click.option("--seed", default=13, show_default=True)
@click.option(
    "--actors",
    type=click.Path(dir_okay=False),
    help="Actor dictionary YAML [default: the model folder's own].",
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
def suggest(
    model_dir, inputs, count, output, strategy, random_share, per_article, seed, actors, device
) -> None:
    """Propose the passages most worth labelling next (uncertain, diverse, plus a random share)."""
    from collections import Counter
    from pathlib import Path

    from pipeline.actors import load_actor_dictionary
    from pipeline.articles import InputProblem, iter_documents
    from pipeline.cascade import load_classifier
    from pipeline.inputs import RENAMED, resolve_inputs
    from pipeline.interchange import write_statements
    from pipeline.scoring import SegmentOptions, iter_scored_documents
    from pipeline.suggest import select, source_name, to_statement

    try:
        # A missing input, or an output the next run would read back as an article, stops
        # here (as in predict), before the model loads.
        resolve_inputs(inputs, [output])
        classifier = load_classifier(model_dir, device=device)
        actor_dictionary = load_actor_dictionary(actors, model_dir)
        sources, skipped = {}, []

        def documents():
            for item in iter_documents(inputs):
                if isinstance(item, InputProblem):
                    skipped.append(item)
                    continue
                sources[item.doc_id] = item.input
                yield item

        rows = iter_scored_documents(classifier, documents(), SegmentOptions(), actor_dictionary)
        picks = select(rows, count, strategy, random_share, per_article, seed)
        run = Path(model_dir).resolve().parent.name
        statements = [
            to_statement(row, how, score, strategy, source_name(sources[row["doc_id"]]), run)
            for row, how, score in picks
        ]
        write_statements(statements, output)
    except PipelineError as error:
        _fail(error)
    how = Counter(kind for _, kind, _ in picks)
    click.echo(
        f"{len(statements)} suggestions ({how['uncertain']} uncertain, {how['random']} "
        f"random) from {len(set(s.doc_id for s in statements))} articles -> {output}"
    )
    for problem in skipped:
        action = "renamed" if problem.action == RENAMED else "skipped"
        where = f"{problem.input}:{problem.line}" if problem.line else problem.input
        click.echo(f"{action} {where}: {problem.reason}", err=True)


@cli.command(name="export")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["label-studio", "doccano", "prodigy", "argilla", "csv"]),
)
@click.option("--output", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--sources",
    type=click.Path(file_okay=False),
    help="The folder of source documents for offset checks (as for `validate`).",
)
def export_command(paths, fmt, output, sources) -> None:
    """Export annotation files for Label Studio, doccano, Prodigy, Argilla/HF datasets or CSV.

    Prints how to set the tool up so that it asks for every field the import needs (label,
    holder, condition).
    """
    from pipeline.annotations import load_statements
    from pipeline.inputs import resolve_inputs
    from pipeline.interchange import TOOL_SETUP, export_statements

    try:
        statements = load_statements(paths, sources)
        resolve_inputs(paths, [output], read_as="annotations")  # never over nor among them
        export_statements(statements, output, fmt)
    except PipelineError as error:
        _fail(error)
    click.echo(f"{len(statements)} statements -> {output} ({fmt})")
    if fmt in TOOL_SETUP:
        click.echo(TOOL_SETUP[fmt])


@cli.command(name="import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["label-studio", "doccano", "prodigy", "argilla", "csv"]),
)
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Statements in the annotation format (.jsonl).",
)
@click.option("--strict", is_flag=True, help="Exit 1 if any item could not be imported.")
def import_command(path, fmt, output, strict) -> None:
    """Import a tool's export back into the annotation format; report every problem."""
    from pipeline.inputs import resolve_inputs
    from pipeline.interchange import import_statements, write_statements

    try:
        statements, problems = import_statements(path, fmt)
        resolve_inputs([path], [output], read_as="a tool export")  # never over the input
        write_statements(statements, output)
    except PipelineError as error:
        _fail(error)
    for problem in problems:
        click.echo(str(problem), err=True)
    click.echo(f"{len(statements)} statements -> {output}; {len(problems)} problem(s)")
    if strict and problems:
        sys.exit(1)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="stance")
