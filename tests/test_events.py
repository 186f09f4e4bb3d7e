"""`stance export-events`: stance passages as PLOVER-style event records."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from conftest import REPO

from pipeline.cli import cli
from pipeline.errors import PipelineError
from pipeline.events import EVENT_FORMATS, event_id, export_events
from pipeline.outputs import write_json, write_records
from pipeline.prediction.rows import PASSAGE_SCHEMA, OutputPaths, read_passages

# The passage columns, with `target` whether or not this version of predict writes it yet.
SCHEMA = (
    PASSAGE_SCHEMA
    if "target" in PASSAGE_SCHEMA.names
    else PASSAGE_SCHEMA.append(pa.field("target", pa.string()))
)
ARTICLE_SCHEMA = pa.schema([(c, pa.string()) for c in ("doc_id", "url", "title", "language")])
ARTICLE = {"doc_id": "a1", "url": "https://example.org/a1", "title": "Talks", "language": "en"}
MANIFEST = {
    "model": {"folder": "models/x/model-best", "sha256": "abc123", "base_model": "tiny-bert"},
    "config": {"predict": {"actors": str(REPO / "configs/actors.yaml")}},
    "versions": {"stance-pipeline": "0.1.0"},
}
PROBABILITIES = {
    "accept": (0.91, 0.03, 0.04, 0.02),
    "reject": (0.05, 0.85, 0.05, 0.05),
    "conditional": (0.1, 0.05, 0.8, 0.05),
    "none": (0.02, 0.02, 0.02, 0.94),
}


def passage(index: int = 0, label: str = "accept", **overrides) -> dict:
    """A passage row of article a1 as `stance predict` writes it; override any column."""
    text = overrides.pop("text", "Hamas said it was ready for talks with Israel.")
    start = overrides.pop("start", index * 100)
    row = {
        "doc_id": "a1",
        "passage_id": f"a1#{index}",
        "start": start,
        "end": start + len(text),
        "text": text,
        "label": label,
        "confidence": max(PROBABILITIES[label]),
        **dict(zip(("p_accept", "p_reject", "p_conditional", "p_none"), PROBABILITIES[label])),
        "holder": "Hamas",
        "target": "Israel",
        "date": "2024-02-01",
    }
    row.update(overrides)
    return row


def write_run(folder: Path, rows: list[dict], suffix: str = ".jsonl", **manifest) -> Path:
    """The files of a finished predict run (passages, articles, manifest) in `folder`."""
    out = folder / f"passages{suffix}"
    paths = OutputPaths.for_output(out)
    write_records(rows, out, SCHEMA)
    write_records([ARTICLE], paths.articles, ARTICLE_SCHEMA)
    write_json({**MANIFEST, **manifest}, paths.manifest)
    return out


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_each_stance_label_becomes_its_plover_event(tmp_path, suffix):
    rows = [
        passage(0, "accept"),
        passage(
            1, "reject", text="Israel ruled out talks with Hamas.", holder="Israel", target="Hamas"
        ),
        # A text a spreadsheet would run as a formula: the CSV mark must not reach the event.
        passage(2, "conditional", text="=Talks only if the siege ends, Hamas said."),
        passage(3, "none", text="It rained in Gaza.", holder="unknown", target=""),
    ]
    result = export_events(write_run(tmp_path, rows, suffix), tmp_path / "events.jsonl")

    events = read_events(tmp_path / "events.jsonl")
    coded = [(e["label"], e["event"], e["mode"], e["context"], e["quad_code"]) for e in events]
    assert coded == [
        ("accept", ["AGREE"], "meet", [], 1),
        ("reject", ["REJECT"], "meet", [], 3),
        ("conditional", ["AGREE"], "meet", ["conditional"], 1),
    ]
    assert events[0] == {
        "id": event_id("a1", 0, 46),
        "date": "2024-02-01",
        "source": [{"identifier_text": "Hamas", "code": None}],
        "recipient": [{"identifier_text": "Israel", "code": "ISR"}],
        "event": ["AGREE"],
        "mode": "meet",
        "context": [],
        "quad_code": 1,
        "text": "Hamas said it was ready for talks with Israel.",
        "text_info": {"start": 0, "end": 46, "doc_id": "a1", "passage_id": "a1#0"},
        "cite_info": {
            "url": "https://example.org/a1",
            "title": "Talks",
            "language": "en",
            "codebook": "stance-plover-1",
        },
        "coder": "stance-pipeline 0.1.0",
        "label": "accept",
        "confidence": 0.91,
        "model": {"folder": "models/x/model-best", "base_model": "tiny-bert", "sha256": "abc123"},
        "story_id": None,
    }
    assert events[2]["text"] == "=Talks only if the siege ends, Hamas said."
    assert result.written == 3 and dict(result.events) == {"AGREE": 2, "REJECT": 1}
    assert result.no_stance == 1 and result.problems == []


def test_recipient_comes_from_the_target_column(tmp_path):
    rows = [
        passage(0, target="Taliban"),
        passage(1, target=""),  # no other party named
        passage(2, target=None),
    ]
    export_events(write_run(tmp_path / "new", rows), tmp_path / "new.jsonl")
    recipients = [e["recipient"] for e in read_events(tmp_path / "new.jsonl")]
    assert recipients == [[{"identifier_text": "Taliban", "code": None}], [], []]

    # A run from before the `target` column: events without a recipient.
    older = tmp_path / "old" / "passages.jsonl"
    older.parent.mkdir()
    write_run(older.parent, [])
    older.write_text(json.dumps({k: v for k, v in passage().items() if k != "target"}) + "\n")
    export_events(older, tmp_path / "old.jsonl")
    assert read_events(tmp_path / "old.jsonl")[0]["recipient"] == []


def test_states_get_iso_codes_and_non_state_actors_none(tmp_path):
    rows = [
        passage(0, holder="United States", target="Taliban"),
        passage(1, holder="Afghan Government", target="Pakistan"),  # a code given in actors.yaml
        passage(2, holder="Hamas", target="United Nations"),
    ]
    run = write_run(tmp_path, rows)
    export_events(run, tmp_path / "events.jsonl")
    codes = [
        (e["source"][0]["code"], e["recipient"][0]["code"])
        for e in read_events(tmp_path / "events.jsonl")
    ]
    assert codes == [("USA", None), ("AFG", "PAK"), (None, None)]

    # Users give their own codes (PLOVER's non-state codes, say) in their dictionary.
    own = tmp_path / "own.yaml"
    own.write_text(
        "Hamas: {code: IMG, aliases: [Hamas]}\nUnited Nations: {code: IGO, aliases: [UN]}\n"
        "United States: [Washington]\n",
        encoding="utf-8",
    )
    export_events(run, tmp_path / "own.jsonl", actors=own)
    last = read_events(tmp_path / "own.jsonl")[2]
    assert (last["source"][0]["code"], last["recipient"][0]["code"]) == ("IMG", "IGO")


def test_none_and_unknown_holder_passages_are_not_events(tmp_path):
    rows = [
        passage(0, "none", holder="Hamas"),
        passage(1, "reject", holder="unknown"),  # PLOVER codes no event without a source actor
        passage(2, "accept", date="2024-02"),  # a month only: the event has no PLOVER date
    ]
    result = export_events(write_run(tmp_path, rows), tmp_path / "events.jsonl")
    events = read_events(tmp_path / "events.jsonl")
    assert [e["text_info"]["passage_id"] for e in events] == ["a1#2"]
    assert events[0]["date"] is None
    assert (result.no_stance, result.no_actor, result.undated) == (1, 1, 1)


def test_event_ids_are_stable_across_exports_and_formats(tmp_path):
    rows = [passage(0), passage(1, "reject"), passage(2, "conditional", doc_id="a2")]
    export_events(write_run(tmp_path / "j", rows), tmp_path / "first.jsonl")
    export_events(write_run(tmp_path / "j", rows), tmp_path / "again.jsonl")
    export_events(write_run(tmp_path / "p", rows, ".parquet"), tmp_path / "parquet.jsonl")
    ids = [e["id"] for e in read_events(tmp_path / "first.jsonl")]
    assert ids == [e["id"] for e in read_events(tmp_path / "again.jsonl")]
    assert ids == [e["id"] for e in read_events(tmp_path / "parquet.jsonl")]
    assert len(set(ids)) == 3
    # Derived from the article id and the offsets only, so it never changes between versions.
    assert ids[0] == event_id("a1", 0, 46) == "stance-fd92b77124691763cc71"


def test_bad_rows_are_reported_with_file_line_and_field_and_skipped(tmp_path):
    run = write_run(tmp_path, [])
    lines = [
        passage(0),
        {**passage(1), "label": "maybe"},
        {**passage(2), "start": "ten"},
        {k: v for k, v in passage(3).items() if k != "holder"},
        passage(4, start=50, end=40),
    ]
    run.write_text(
        "\n".join([*map(json.dumps, lines[:3]), "{broken", *map(json.dumps, lines[3:])]) + "\n",
        encoding="utf-8",
    )
    result = export_events(run, tmp_path / "events.jsonl")
    hint = "correct or delete the row, or rerun `stance predict` to write the file again"
    assert [str(p) for p in result.problems] == [
        f"{run}:2: label: Input should be 'accept', 'reject', 'conditional' or 'none' (got "
        f"'maybe'); {hint}",
        f"{run}:3: start: Input should be a valid integer, unable to parse string as an "
        f"integer (got 'ten'); {hint}",
        f"{run}:4: json: invalid JSON: Expecting property name enclosed in double quotes; {hint}",
        f"{run}:5: holder: Field required; {hint}",
        f"{run}:6: end: end (40) is before start (50); {hint}",
    ]
    assert [e["text_info"]["passage_id"] for e in read_events(tmp_path / "events.jsonl")] == [
        "a1#0"
    ]

    table = write_run(tmp_path / "csv", [passage(0), passage(1)], ".csv")
    text = table.read_text(encoding="utf-8").replace("0.91", "high", 1)
    table.write_text(text, encoding="utf-8")
    result = export_events(table, tmp_path / "csv.jsonl")
    assert [str(p) for p in result.problems] == [
        f"{table}:2: confidence: Input should be a valid number, unable to parse string as a "
        f"number (got 'high'); {hint}"
    ]
    assert result.written == 1


def test_export_never_writes_over_the_run_and_names_a_missing_file(tmp_path):
    run = write_run(tmp_path, [passage(0)])
    with pytest.raises(PipelineError, match="would overwrite an input file; choose an OUT"):
        export_events(run, OutputPaths.for_output(run).articles)
    OutputPaths.for_output(run).manifest.unlink()
    with pytest.raises(PipelineError) as error:
        export_events(run, tmp_path / "events.jsonl")
    manifest = tmp_path / "passages.manifest.json"
    assert str(error.value) == f"{manifest}: not found; is {run} the output of stance predict?"


def test_cli_format_choices_are_the_event_formats():
    command = cli.commands["export-events"]
    choice = next(p for p in command.params if p.name == "fmt").type
    assert list(choice.choices) == list(EVENT_FORMATS)


def test_cli_exports_the_stance_passages_of_a_real_predict_run(trained_toy_model, tmp_path):
    records = tmp_path / "in" / "news.jsonl"
    records.parent.mkdir()
    texts = [
        "The Taliban said it was ready to talk with the United States. Pakistan refused any "
        "talks with the Taliban. Heavy rain fell near the border of Iran.",
        "Hamas welcomed the offer of negotiations from Egypt. Israel ruled out negotiations "
        "with Hamas.",
    ]
    records.write_text(
        "".join(
            json.dumps({"id": f"n{i}", "text": t, "date": f"2024-0{i + 1}-15", "url": f"u{i}"})
            + "\n"
            for i, t in enumerate(texts)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out" / "passages.parquet"
    runner = CliRunner()
    model = str(trained_toy_model.model_dir)
    predicted = runner.invoke(
        cli,
        ["predict", "--model", model, str(records), "--output", str(out), "--quiet"]
        + ["--device", "cpu", "--actors", str(REPO / "configs/actors.yaml")],
    )
    assert predicted.exit_code == 0, predicted.output
    events_file = tmp_path / "out" / "events.jsonl"
    result = runner.invoke(cli, ["export-events", str(out), str(events_file)])
    assert result.exit_code == 0, result.output

    rows = read_passages(out)
    stance = [r for r in rows if r["label"] != "none" and r["holder"] != "unknown"]
    events = read_events(events_file)
    assert stance, "the toy model found no stance passage with a known holder"
    assert [(e["text"], e["text_info"]["start"], e["label"]) for e in events] == [
        (r["text"], r["start"], r["label"]) for r in stance
    ]
    assert [e["confidence"] for e in events] == [r["confidence"] for r in stance]
    assert {e["cite_info"]["url"] for e in events} <= {"u0", "u1"}
    assert all(e["date"] in ("2024-01-15", "2024-02-15") for e in events)
    assert [[a["identifier_text"] for a in e["recipient"]] for e in events] == [
        [r["target"]] if r.get("target") else [] for r in stance
    ]
    manifest = json.loads(OutputPaths.for_output(out).manifest.read_text())
    base_model = manifest["model"]["base_model"]
    assert {json.dumps(e["model"]) for e in events} == {
        json.dumps(
            {
                "folder": manifest["model"]["folder"],
                "base_model": base_model["name"] if isinstance(base_model, dict) else base_model,
                "sha256": manifest["model"]["sha256"],
            }
        )
    }
    assert len({e["id"] for e in events}) == len(events)
    assert result.output.startswith(f"{len(events)} events -> {events_file} (plover: ")
