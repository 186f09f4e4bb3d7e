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
    help="Folder of source documents for offset checks [default: sources/ beside "
    "each annotation file].",
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
def stats(paths: tuple[str, ...], as_json: bool) -> None:
    """Print counts per label, source, conflict and holder."""
    from pipeline.annotations import load_statements
    from pipeline.stats import STAT_FIELDS, format_table, label_counts_by

    try:
        statements = load_statements(paths)
    except PipelineError as error:
        _fail(error)
    tables = {field: label_counts_by(statements, field) for field in STAT_FIELDS}
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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="stance")
