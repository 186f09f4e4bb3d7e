"""The README's recipes for other tools (the export command, DuckDB, R), run as written on the
outputs of a real `stance predict` run of the toy model."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO

from pipeline.cli import cli
from pipeline.config import PredictConfig
from pipeline.inference import predict

SECTION = "## Event data and other tools"
NEWS = [
    "The Taliban said it was ready to talk with the United States. Pakistan refused any talks "
    "with the Taliban. Heavy rain fell near the border of Iran.",
    "Hamas welcomed the offer of negotiations from Egypt. Israel ruled out negotiations with "
    "Hamas. Qatar will join talks provided the shelling stops by Israel.",
]


def readme_blocks(language: str) -> list[str]:
    """The ```language code blocks of the README's section on other tools, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, trained_toy_model) -> Path:
    """A folder holding `out/`: a Parquet predict run of dated news records and the sample
    articles, and the events the README's export command writes from it."""
    folder = tmp_path_factory.mktemp("interop")
    records = folder / "news.jsonl"
    records.write_text(
        "".join(
            json.dumps({"id": f"n{i}", "text": text, "date": f"2024-0{i + 1}-15"}) + "\n"
            for i, text in enumerate(NEWS)
        ),
        encoding="utf-8",
    )
    options = PredictConfig.model_validate({"actors": str(REPO / "configs/actors.yaml")})
    inputs = [str(records), str(REPO / "annotations" / "sources")]
    out = folder / "out" / "passages.parquet"
    predict(str(trained_toy_model.model_dir), inputs, out, options, device="cpu", progress=False)
    (command,) = readme_blocks("bash")
    args = shlex.split(command)
    assert args[:2] == ["stance", "export-events"]
    here = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(cli, args[1:])
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.output
    return folder


def test_duckdb_recipes_read_the_parquet_outputs(run_folder, monkeypatch):
    import duckdb

    monkeypatch.chdir(run_folder)
    from_passages, from_actor_table, from_events = readme_blocks("sql")
    database = duckdb.connect()
    per_actor_month = database.sql(from_passages).fetchall()
    # The passages, grouped in SQL, give the actor-by-month table the run wrote.
    assert per_actor_month and per_actor_month == database.sql(from_actor_table).fetchall()

    events = [json.loads(line) for line in (run_folder / "out/events.jsonl").open()]
    expected = Counter(
        (e["source"][0]["identifier_text"], e["source"][0]["code"], e["event"][0]) for e in events
    )
    counted = {
        (actor, code, event): n for actor, code, event, n in database.sql(from_events).fetchall()
    }
    assert events and counted == dict(expected)


def run_readme_r_block(rscript: str, position: int, run_folder: Path):
    """Run the README's `position`-th R block in the run folder; it must exit 0."""
    script = run_folder / f"recipe_{position}.R"
    script.write_text(readme_blocks("r")[position], encoding="utf-8")
    result = subprocess.run(
        [rscript, str(script)], cwd=run_folder, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result


def test_r_recipe_reads_the_parquet_outputs(run_folder):
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip(
            "Rscript is not installed, so the README's R recipe (arrow::read_parquet) is not run"
        )
    has_arrow = subprocess.run(
        [rscript, "-e", 'quit(status = if (requireNamespace("arrow", quietly = TRUE)) 0 else 1)'],
        capture_output=True,
        timeout=120,
    )
    if has_arrow.returncode != 0:
        pytest.skip("the R package arrow is not installed, so the README's R recipe is not run")
    result = run_readme_r_block(rscript, 0, run_folder)
    events = [json.loads(line) for line in (run_folder / "out/events.jsonl").open()]
    assert events[0]["label"] in result.stdout and events[0]["source"][0]["identifier_text"] in (
        result.stdout
    )


def test_base_r_recipe_reads_the_csv_tables(run_folder):
    """The README's second R block needs R alone (Debian's r-base-core), no packages."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip("Rscript is not installed, so the README's base-R recipe is not run")
    result = run_readme_r_block(rscript, 1, run_folder)
    actors = (run_folder / "out/passages.actors.csv").read_text(encoding="utf-8").splitlines()
    dyads = (run_folder / "out/passages.dyads.csv").read_text(encoding="utf-8").splitlines()
    assert len(actors) > 1 and len(dyads) > 1  # the toy run names actors and dyads
    first_actor = actors[1].split(",")[0]
    first_holder = dyads[1].split(",")[0]
    assert first_actor in result.stdout and first_holder in result.stdout
