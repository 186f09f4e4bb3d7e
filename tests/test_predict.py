"""Batch scoring: outputs, robustness to bad input, resume after interruption.

Most tests score with the keyword classifier of tests/fakes.py (`model_dir`): they test the
run, not the model. The few that test the model folder itself (backends, the Python API, the
actor dictionary training copies) load the trained toy model.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import REPO
from fakes import interrupt_scoring_at_batch

from pipeline.cli import cli
from pipeline.config import PredictConfig
from pipeline.errors import PipelineError
from pipeline.inference import predict

SOURCES = REPO / "annotations" / "sources"


@pytest.fixture
def model_dir(fake_model):
    return fake_model


@pytest.fixture
def bad_inputs(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02 not text")
    (folder / "empty.txt").write_text("   \n")
    (folder / "latin1.txt").write_bytes("Caf\xe9 talks collapsed.".encode("latin-1"))
    (folder / "huge.txt").write_text("Talks. " * 2000)
    (folder / "notes.docx").write_bytes(b"PK")
    (folder / "records.jsonl").write_text(
        '{"id": "r1", "text": "Hamas said it was ready for talks.", "date": "2024-02-01"}\n'
        "{broken\n"
        '{"id": "r3", "title": "no text here"}\n'
    )
    return folder


def options(**kw):
    base = {
        "documents_per_shard": 2,
        "actors": str(REPO / "configs/actors.yaml"),
        "max_file_bytes": 10000,
    }
    base.update(kw)
    return PredictConfig.model_validate(base)


def test_scores_articles_and_reports_every_bad_file(model_dir, bad_inputs, tmp_path):
    out = tmp_path / "out" / "passages.jsonl"
    manifest = predict(
        str(model_dir),
        [str(SOURCES), str(bad_inputs)],
        out,
        options(),
        device="cpu",
        progress=False,
    )
    errors = [json.loads(line) for line in (tmp_path / "out/passages.errors.jsonl").open()]
    reasons = {(e["input"].split("/")[-1], e["line"]): e["reason"] for e in errors}
    assert reasons == {
        ("binary.txt", None): "binary file (contains NUL bytes)",
        ("empty.txt", None): "empty file",
        ("huge.txt", None): "file too large (14000 bytes > 10000)",
        ("latin1.txt", 1): "not UTF-8 (invalid byte 0xE9, byte 4 of the line); re-save the file "
        "as UTF-8",
        ("notes.docx", None): "unsupported file type '.docx' (supported: .arc, .csv, .htm, "
        ".html, .json, .jsonl, .md, .parquet, .txt, .warc, .zip; each but .zip also compressed "
        "as .gz, .bz2, .xz, .zst)",
        ("records.jsonl", 2): "invalid JSON: Expecting property name enclosed in double quotes",
        ("records.jsonl", 3): "field 'text' is missing",
    }
    rows = [json.loads(line) for line in out.open()]
    assert manifest["counts"]["passages"] == len(rows)
    assert manifest["counts"]["documents"] == 6 and manifest["counts"]["errors"] == 7
    assert set(rows[0]) == {
        "doc_id",
        "passage_id",
        "start",
        "end",
        "text",
        "label",
        "confidence",
        "p_accept",
        "p_reject",
        "p_conditional",
        "p_none",
        "holder",
        "target",
        "holder_text",
        "target_text",
        "date",
    }
    # Offsets find each passage in its source file.
    for row in rows:
        if row["doc_id"].endswith(".txt"):
            source = (SOURCES / row["doc_id"]).read_text(encoding="utf-8")
            assert source[row["start"] : row["end"]] == row["text"]
    assert (
        abs(sum(rows[0][f"p_{k}"] for k in ("accept", "reject", "conditional", "none")) - 1) < 1e-4
    )
    assert {r["doc_id"] for r in rows} >= {"r1", "000_d057cdec9c749175.txt"}
    articles = [json.loads(line) for line in (tmp_path / "out/passages.articles.jsonl").open()]
    assert len(articles) == 6
    assert sum(a["n_passages"] for a in articles) == len(rows)
    actors = pd.read_csv(tmp_path / "out/passages.actors.csv")
    assert actors["n_passages"].sum() == len(rows)
    assert "2024-02" in set(actors["month"])
    assert manifest["model"]["sha256"] and manifest["config"]["predict"]["window"] == 1
    assert not (tmp_path / "out/passages.parts").exists()


def test_rerun_after_interruption_resumes_without_duplicates(model_dir, tmp_path, monkeypatch):
    reference = tmp_path / "ref" / "p.jsonl"
    predict(
        str(model_dir),
        [str(SOURCES)],
        reference,
        options(documents_per_shard=1),
        device="cpu",
        progress=False,
    )

    resume_scoring = interrupt_scoring_at_batch(monkeypatch, 3)
    out = tmp_path / "run" / "p.jsonl"
    with pytest.raises(KeyboardInterrupt):
        predict(
            str(model_dir),
            [str(SOURCES)],
            out,
            options(documents_per_shard=1),
            device="cpu",
            progress=False,
        )
    assert len(list((tmp_path / "run/p.parts").glob("shard-*.json"))) == 2
    assert not out.exists()

    resume_scoring()
    manifest = predict(
        str(model_dir),
        [str(SOURCES)],
        out,
        options(documents_per_shard=1),
        device="cpu",
        progress=False,
    )
    assert manifest["resumed_shards"] == 2
    assert out.read_text() == reference.read_text()
    assert (tmp_path / "run/p.articles.jsonl").read_text() == (
        tmp_path / "ref/p.articles.jsonl"
    ).read_text()


def test_completed_run_is_not_redone_and_changed_runs_do_not_mix(model_dir, tmp_path):
    out = tmp_path / "p.jsonl"
    first = predict(str(model_dir), [str(SOURCES)], out, options(), device="cpu", progress=False)
    again = predict(str(model_dir), [str(SOURCES)], out, options(), device="cpu", progress=False)
    assert again == {**first, "already_complete": True}
    parts = tmp_path / "p.parts"
    parts.mkdir()
    (parts / "run.json").write_text(json.dumps({"fingerprint": "other"}))
    (parts / "shard-000000.parquet").write_bytes(b"finished shard of the other run")
    (parts / "shard-000000.json").write_text(
        json.dumps({"number": 0, "file": "shard-000000.parquet", "first": 0, "last": 1})
    )
    with pytest.raises(PipelineError, match="holds shards of a different run"):
        predict(
            str(model_dir), [str(SOURCES)], out, options(window=2), device="cpu", progress=False
        )


def test_run_that_failed_before_its_first_shard_does_not_block_a_changed_rerun(
    model_dir, tmp_path, monkeypatch
):
    import pipeline.prediction.local as local_engine

    def fail(classifier, batch, actors=None):
        raise PipelineError("scoring failed")

    real_score = local_engine.score_passages
    monkeypatch.setattr(local_engine, "score_passages", fail)
    out = tmp_path / "p.jsonl"
    with pytest.raises(PipelineError, match="scoring failed"):
        predict(str(model_dir), [str(SOURCES)], out, options(), device="cpu", progress=False)
    assert (tmp_path / "p.parts" / "run.json").is_file()
    assert not list((tmp_path / "p.parts").glob("shard-*.json"))

    monkeypatch.setattr(local_engine, "score_passages", real_score)
    manifest = predict(
        str(model_dir), [str(SOURCES)], out, options(window=2), device="cpu", progress=False
    )
    assert manifest["status"] == "complete" and manifest["resumed_shards"] == 0
    assert manifest["config"]["predict"]["window"] == 2
    assert not (tmp_path / "p.parts").exists()


@pytest.mark.parametrize(
    ("backend", "graph"),
    [("onnx", "model.onnx"), ("onnx-int8", "model.uint8.onnx"), ("torch", None)],
)
def test_manifest_records_the_onnx_graph_that_scored(trained_toy_model, tmp_path, backend, graph):
    from pipeline.provenance import sha256_file

    folder = tmp_path / "model"
    shutil.copytree(trained_toy_model.model_dir, folder, ignore=shutil.ignore_patterns("onnx"))
    manifest = predict(
        str(folder),
        [str(SOURCES)],
        tmp_path / "p.jsonl",
        options(backend=backend),
        device="cpu",
        progress=False,
    )
    recorded = manifest["model"]["onnx_graph"]
    if graph is None:
        assert recorded is None
    else:
        assert recorded == {
            "file": f"onnx/{graph}",
            "sha256": sha256_file(folder / "onnx" / graph),
            "weights_sha256": sha256_file(folder / "model.safetensors"),
        }


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_output_formats_hold_the_same_rows(model_dir, tmp_path, suffix):
    jsonl = tmp_path / "p.jsonl"
    predict(str(model_dir), [str(SOURCES)], jsonl, options(), device="cpu", progress=False)
    other = tmp_path / f"q{suffix}"  # not p: p.jsonl and p.csv share p.manifest.json
    predict(str(model_dir), [str(SOURCES)], other, options(), device="cpu", progress=False)
    expected = pd.read_json(jsonl, lines=True, dtype={"date": str})
    got = pd.read_csv(other, keep_default_na=False) if suffix == ".csv" else pd.read_parquet(other)
    assert list(got.columns) == list(expected.columns)
    assert got["passage_id"].tolist() == expected["passage_id"].tolist()
    assert got["label"].tolist() == expected["label"].tolist()
    assert (tmp_path / f"q.articles{suffix}").is_file()


def test_unit_record_scores_each_record_whole(model_dir, tmp_path):
    records = tmp_path / "r.csv"
    pd.DataFrame(
        {
            "id": ["a", "b"],
            "text": ["First sentence. Second sentence.", "One more."],
            "date": ["2020-01-02", ""],
        }
    ).to_csv(records, index=False)
    out = tmp_path / "p.jsonl"
    predict(
        str(model_dir), [str(records)], out, options(unit="record"), device="cpu", progress=False
    )
    rows = [json.loads(line) for line in out.open()]
    assert [(r["doc_id"], r["text"]) for r in rows] == [
        ("a", "First sentence. Second sentence."),
        ("b", "One more."),
    ]


def test_html_main_text_is_extracted_and_boilerplate_dropped(model_dir, tmp_path):
    page = tmp_path / "page.html"
    body = " ".join(["The rebels said on Monday they were ready to resume talks in Oslo."] * 3)
    page.write_text(f"""<html><head><title>Rebels ready for talks</title></head><body>
        <nav><a href="/">Home</a> | <a href="/about">About us</a></nav>
        <article><h1>Rebels ready for talks</h1><p>{body}</p>
        <p>The government has not yet responded to the offer, officials said.</p></article>
        <footer>Cookie settings. Copyright 2024 Example News.</footer>
        <script>alert('x')</script></body></html>""")
    out = tmp_path / "p.jsonl"
    predict(str(model_dir), [str(page)], out, options(), device="cpu", progress=False)
    text = " ".join(json.loads(line)["text"] for line in out.open())
    assert "ready to resume talks in Oslo" in text
    assert "Cookie settings" not in text and "About us" not in text and "alert" not in text


def test_cli_predict_and_strict(model_dir, bad_inputs, tmp_path):
    args = [
        "predict",
        "--model",
        str(model_dir),
        str(SOURCES / "004_405ae563e90886f0.txt"),
        str(bad_inputs / "empty.txt"),
        "--output",
        str(tmp_path / "p.jsonl"),
        "--quiet",
        "--device",
        "cpu",
        "--set",
        f"predict.actors={REPO / 'configs/actors.yaml'}",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "1 articles" in result.output and "1 skipped inputs" in result.output
    strict = CliRunner().invoke(cli, [*args, "--strict", "--overwrite"])
    assert strict.exit_code == 1
    assert "1 input(s) skipped" in strict.stderr


def test_score_articles_api_matches_predict(tmp_path, trained_toy_model):
    model_dir = trained_toy_model.model_dir
    out = tmp_path / "p.jsonl"
    text = (SOURCES / "004_405ae563e90886f0.txt").read_text(encoding="utf-8")
    doc = tmp_path / "a.jsonl"
    doc.write_text(json.dumps({"id": "x", "text": text, "date": "2018-03-09"}) + "\n")
    predict(str(model_dir), [str(doc)], out, options(), device="cpu", progress=False)
    from pipeline import StanceClassifier

    clf = StanceClassifier.load(model_dir, device="cpu")
    api_rows = list(
        clf.score_articles(
            [{"id": "x", "text": text, "date": "2018-03-09"}, {"id": "no-text"}],
            actors_path=REPO / "configs/actors.yaml",
        )
    )
    file_rows = [json.loads(line) for line in out.open()]
    assert [r["passage_id"] for r in api_rows] == [r["passage_id"] for r in file_rows]
    assert [r["label"] for r in api_rows] == [r["label"] for r in file_rows]
    assert [r["holder"] for r in api_rows] == [r["holder"] for r in file_rows]
    shutil.rmtree(tmp_path / "unused", ignore_errors=True)


def run_predict_cli(model_dir, *args):
    """`stance predict` on the toy model, quiet, on CPU; returns the click result."""
    return CliRunner().invoke(
        cli,
        [
            "predict",
            "--model",
            str(model_dir),
            *[str(a) for a in args],
            "--quiet",
            "--device",
            "cpu",
            "--set",
            f"predict.actors={REPO / 'configs/actors.yaml'}",
        ],
    )


def test_resume_after_inputs_changed_stops_and_says_what_changed(model_dir, tmp_path, monkeypatch):
    folder = tmp_path / "in"
    shutil.copytree(SOURCES, folder)
    resume_scoring = interrupt_scoring_at_batch(monkeypatch, 3)
    out = tmp_path / "run" / "p.jsonl"
    args = (str(model_dir), [str(folder)], out, options(documents_per_shard=1))
    with pytest.raises(KeyboardInterrupt):
        predict(*args, device="cpu", progress=False)
    resume_scoring()
    # An article that sorts first shifts every later one: resuming would score one twice and
    # miss another.
    (folder / "000_aaa_new.txt").write_text("The rebels said they were ready to talk.\n")
    with pytest.raises(PipelineError) as raised:
        predict(*args, device="cpu", progress=False)
    assert str(raised.value) == (
        f"{tmp_path / 'run/p.parts'} holds shards of a different run: the input files changed "
        f"(1 file added: {(folder / '000_aaa_new.txt').resolve()}); rerun with --overwrite to "
        "start over, or undo the change to resume"
    )
    manifest = predict(*args, device="cpu", progress=False, overwrite=True)
    articles = [json.loads(line) for line in (tmp_path / "run/p.articles.jsonl").open()]
    assert manifest["counts"]["documents"] == 6
    assert sorted(a["doc_id"] for a in articles) == sorted(p.name for p in folder.iterdir())


def test_finished_run_with_changed_inputs_is_not_reused(model_dir, tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(SOURCES, folder)
    out = tmp_path / "p.jsonl"
    first = run_predict_cli(model_dir, folder, "--output", out)
    assert first.exit_code == 0, first.output
    again = run_predict_cli(model_dir, folder, "--output", out)
    assert again.exit_code == 0, again.output
    assert again.output.startswith(
        f"already complete: {out} was written on "
    ) and again.output.splitlines()[0].endswith(
        "from these inputs, model and settings; nothing scored (--overwrite scores again)"
    )
    (folder / "zzz_new.txt").write_text("The rebels said they were ready to talk.\n")
    changed = run_predict_cli(model_dir, folder, "--output", out)
    assert changed.exit_code == 1
    assert changed.stderr.startswith(
        f"error: {out} was written by a different run: the input files changed (5 files, "
    )
    assert "6 files" in changed.stderr and "rerun with --overwrite" in changed.stderr
    redone = run_predict_cli(model_dir, folder, "--output", out, "--overwrite")
    assert redone.exit_code == 0 and "6 articles" in redone.output


def test_a_bad_byte_costs_one_record_and_names_its_line(model_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(
        b'{"id": "j1", "text": "The rebels said they were ready to talk."}\n'
        b'{"id": "j2", "text": "Caf\xe9 owners refused any talks."}\n'
        b'{"id": "j3", "text": "The army agreed to join the peace talks."}\n'
    )
    (folder / "b.csv").write_bytes(
        b'id,text\r\nc1,"A quoted\r\ntwo-line text about talks."\r\n'
        b"c2,Caf\xe9 owners refused any talks.\r\nc3,The council urged dialogue.\r\n"
    )
    # A whole Latin-1 CSV, as a spreadsheet exports it: every row with an accent is reported.
    (folder / "latin1.csv").write_bytes(
        "id,text\nl1,Plain text about talks.\nl2,Déjà vu at the talks.\n".encode("latin-1")
    )
    out = tmp_path / "p.jsonl"
    manifest = predict(str(model_dir), [str(folder)], out, options(), device="cpu", progress=False)
    errors = [json.loads(line) for line in (tmp_path / "p.errors.jsonl").open()]
    assert [(e["input"].split("/")[-1], e["line"], e["reason"]) for e in errors] == [
        (
            "a.jsonl",
            2,
            "not UTF-8 (invalid byte 0xE9, byte 26 of the line); re-save the file as UTF-8",
        ),
        ("b.csv", 4, "not UTF-8 (invalid byte 0xE9 in field 'text'); re-save the file as UTF-8"),
        (
            "latin1.csv",
            3,
            "not UTF-8 (invalid byte 0xE9 in field 'text'); re-save the file as UTF-8",
        ),
    ]
    ids = {json.loads(line)["doc_id"] for line in (tmp_path / "p.articles.jsonl").open()}
    assert ids == {"j1", "j3", "c1", "c3", "l1"}
    assert manifest["counts"]["errors"] == 3


def test_html_is_decoded_with_the_charset_it_declares(tmp_path):
    from pipeline.articles import iter_documents

    sentence = "Café owners said the “talks” resumed in Oslo on Monday, officials said. "
    page = tmp_path / "page.html"
    page.write_bytes(
        b'<html><head><meta http-equiv="Content-Type" content="text/html; '
        b'charset=windows-1252"><title>Talks</title></head><body><article><p>'
        + (sentence * 4).encode("cp1252")
        + b"</p></article></body></html>"
    )
    [document] = list(iter_documents([str(page)]))
    assert sentence.strip() in document.text


def test_output_over_an_input_is_refused(model_dir, tmp_path):
    records = tmp_path / "x.jsonl"
    records.write_text('{"id": "a", "text": "The rebels said they were ready to talk."}\n')
    before = records.read_bytes()
    same = run_predict_cli(model_dir, records, "--output", records)
    assert same.exit_code == 1
    assert same.stderr == (
        f"error: {records}: this output would overwrite an input file; choose an --output that "
        "is not among the inputs\n"
    )
    assert records.read_bytes() == before
    inside = run_predict_cli(model_dir, tmp_path, "--output", tmp_path / "out" / "p.jsonl")
    assert inside.exit_code == 1
    assert inside.stderr == (
        f"error: {tmp_path / 'out/p.jsonl'}: this output is inside the input folder {tmp_path}, "
        f"so the next run would read it back as articles; choose an --output outside "
        f"{tmp_path}\n"
    )
    pattern = run_predict_cli(model_dir, f"{tmp_path}/*.jsonl", "--output", tmp_path / "p.jsonl")
    assert pattern.exit_code == 1 and "matches the input pattern" in pattern.stderr
    assert not (tmp_path / "out/p.jsonl").exists() and not (tmp_path / "p.parts").exists()


def test_missing_input_is_an_error_naming_it(model_dir, tmp_path):
    missing = tmp_path / "no-such-folder"
    result = run_predict_cli(
        model_dir, SOURCES, missing, f"{tmp_path}/*.csv", "--output", tmp_path / "p.jsonl"
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: input not found: {missing}, {tmp_path}/*.csv; check the path (a glob must "
        "match at least one file)\n"
    )
    assert not (tmp_path / "p.parts").exists()


def test_offsets_index_the_text_as_the_one_reading_rule_gives_it(model_dir, tmp_path):
    article = tmp_path / "windows.txt"
    article.write_bytes(
        b"\xef\xbb\xbfRebels ready for talks\r\n\r\nThe rebels said they were ready to talk."
        b"\r\nThe army refused any talks.\rOld Mac line: the council urged dialogue.\r\n"
    )
    out = tmp_path / "p.jsonl"
    predict(str(model_dir), [str(article)], out, options(), device="cpu", progress=False)
    rows = [json.loads(line) for line in out.open()]
    with open(article, encoding="utf-8-sig") as handle:  # the rule, as README states it
        text = handle.read()
    assert [text[r["start"] : r["end"]] for r in rows] == [r["text"] for r in rows]
    assert [r["text"] for r in rows] == [
        "Rebels ready for talks",
        "The rebels said they were ready to talk.",
        "The army refused any talks.",
        "Old Mac line: the council urged dialogue.",
    ]


def test_duplicate_ids_across_files_are_renamed_and_reported(model_dir, tmp_path):
    texts = {
        "a": "The rebels said they were ready to talk.",
        "b": "The army refused any talks. The council urged dialogue.",
        "c": "The envoy welcomed the offer. The league boycotted the conference. It rained.",
    }
    for name, text in texts.items():
        (tmp_path / f"{name}.jsonl").write_text(json.dumps({"id": "dup", "text": text}) + "\n")
    out = tmp_path / "out" / "p.jsonl"
    inputs = [str(tmp_path / f"{name}.jsonl") for name in texts]
    manifest = predict(str(model_dir), inputs, out, options(), device="cpu", progress=False)
    articles = [json.loads(line) for line in (tmp_path / "out/p.articles.jsonl").open()]
    b, c = f"{tmp_path / 'b.jsonl'}:1", f"{tmp_path / 'c.jsonl'}:1"
    assert [(a["doc_id"], a["n_passages"]) for a in articles] == [
        ("dup", 1),
        (f"dup@{b}", 2),
        (f"dup@{c}", 3),
    ]
    errors = [json.loads(line) for line in (tmp_path / "out/p.errors.jsonl").open()]
    assert [(e["action"], e["reason"]) for e in errors] == [
        (
            "renamed",
            f"duplicate id 'dup' (first used at {tmp_path / 'a.jsonl'}:1); this article is kept "
            f"as 'dup@{b}'",
        ),
        (
            "renamed",
            f"duplicate id 'dup' (first used at {tmp_path / 'a.jsonl'}:1); this article is kept "
            f"as 'dup@{c}'",
        ),
    ]
    assert manifest["counts"]["errors"] == 0 and manifest["counts"]["renamed_ids"] == 2


def test_skip_reasons_say_what_is_wrong(tmp_path):
    from pipeline.articles import iter_documents

    (tmp_path / "utf16.txt").write_bytes("The rebels said they would talk.".encode("utf-16"))
    (tmp_path / "utf16-no-bom.txt").write_bytes("The rebels said so.".encode("utf-16-le"))
    (tmp_path / "records.jsonl").write_bytes(
        b'\xef\xbb\xbf{"id": "first", "text": "A record after a byte-order mark."}\n'
        b'{"id": "n", "text": 12345}\n{"id": "e", "text": "  "}\n{"id": "m"}\n'
        b'{"id": "z", "text": null}\n'
    )
    (tmp_path / "empty.jsonl").write_bytes(b"\n\n")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "no-text.csv").write_text("id,body\n1,hello\n")
    items = list(iter_documents([str(tmp_path), str(tmp_path / "records.jsonl")]))
    reasons = {(Path(i.input).name, i.line): i.reason for i in items if not hasattr(i, "doc_id")}
    assert reasons == {
        ("empty.csv", None): "no records (empty file)",
        ("empty.jsonl", None): "no records (empty file)",
        ("no-text.csv", 1): "CSV header has no 'text' column (columns: 'id', 'body'); set "
        "predict.fields.text to the field that holds the article text",
        ("records.jsonl", 2): "field 'text' holds a number (12345), not text; store the text "
        "as a string",
        ("records.jsonl", 3): "field 'text' is empty",
        ("records.jsonl", 4): "field 'text' is missing",
        ("records.jsonl", 5): "field 'text' is null",
        ("records.jsonl", None): f"already read as {tmp_path / 'records.jsonl'} (listed more "
        "than once in the inputs); read once",
        ("utf16-no-bom.txt", None): "UTF-16 text, not UTF-8; re-save the file as UTF-8",
        ("utf16.txt", None): "UTF-16 text, not UTF-8; re-save the file as UTF-8",
    }
    assert [i.doc_id for i in items if hasattr(i, "doc_id")] == ["first"]


def test_model_folder_carries_its_actor_dictionary_so_predict_runs_anywhere(
    trained_toy_model, tmp_path, monkeypatch
):
    """A model's config no longer points at configs/actors.yaml relative to the working folder."""
    from pipeline.provenance import sha256_file

    model_dir = trained_toy_model.model_dir
    meta = json.loads((model_dir / "meta.json").read_text())
    assert meta["actors"]["sha256"] == sha256_file(model_dir / "actors.yaml")
    assert meta["actors"]["sha256"] == sha256_file(REPO / "configs/actors.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no configs/ here
    article = SOURCES / "004_405ae563e90886f0.txt"
    args = ["predict", "--model", str(model_dir), str(article), "--output", "p.jsonl", "--quiet"]
    result = CliRunner().invoke(cli, [*args, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "1 articles" in result.output


def test_failed_start_leaves_nothing_behind_so_the_corrected_rerun_runs(model_dir, tmp_path):
    from pipeline.errors import ConfigError

    out = tmp_path / "p.jsonl"
    missing = tmp_path / "no-such-actors.yaml"
    with pytest.raises(ConfigError, match="actor dictionary not found"):
        predict(
            str(model_dir),
            [str(SOURCES)],
            out,
            options(actors=str(missing)),
            device="cpu",
            progress=False,
        )
    assert not (tmp_path / "p.parts").exists()
    manifest = predict(str(model_dir), [str(SOURCES)], out, options(), device="cpu", progress=False)
    assert manifest["status"] == "complete"


def test_second_run_on_the_same_output_is_refused_while_the_first_holds_it(model_dir, tmp_path):
    import os

    from pipeline.outputs import output_lock

    out = tmp_path / "p.jsonl"
    with output_lock(out):
        assert (tmp_path / "p.lock").read_text().startswith(str(os.getpid()))
        for other in (out, tmp_path / "p.csv"):  # p.csv would share p.parts/ and p.manifest.json
            with pytest.raises(PipelineError) as info:
                predict(
                    str(model_dir), [str(SOURCES)], other, options(), device="cpu", progress=False
                )
            assert str(info.value) == (
                f"{other}: another run (process {os.getpid()}) is writing this output (lock "
                f"file {tmp_path / 'p.lock'}); wait for it to finish or choose another --output"
            )
    assert not (tmp_path / "p.parts").exists()
    predict(str(model_dir), [str(SOURCES)], out, options(), device="cpu", progress=False)
    assert not (tmp_path / "p.lock").exists()


def test_output_under_a_file_is_a_clear_error(model_dir, tmp_path):
    blocker = tmp_path / "report.txt"
    blocker.write_text("a file, not a folder")
    args = ["predict", "--model", str(model_dir), str(SOURCES), "--quiet", "--device", "cpu"]
    result = CliRunner().invoke(cli, [*args, "--output", str(blocker / "out" / "p.jsonl")])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"error: {blocker / 'out' / 'p.jsonl'}: cannot write the output here: "
    )
    assert "Traceback" not in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_output_in_a_read_only_folder_is_a_clear_error(model_dir, tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PipelineError, match="cannot write the output here: Permission denied"):
            predict(
                str(model_dir),
                [str(SOURCES)],
                folder / "p.jsonl",
                options(),
                device="cpu",
                progress=False,
            )
    finally:
        folder.chmod(0o755)


def test_csv_output_cannot_run_as_a_spreadsheet_formula(model_dir, tmp_path):
    from pipeline.outputs import restore_csv_cell

    texts = [
        '=HYPERLINK("http://evil.example","click")',
        "+1 talks",
        "-2 talks",
        "@SUM(A1)",
        "\tTab first",
        "'quoted already",
        "Plain text.",
    ]
    records = tmp_path / "r.jsonl"
    records.write_text(
        "".join(json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    )
    for suffix in (".csv", ".jsonl"):
        predict(
            str(model_dir),
            [str(records)],
            tmp_path / f"p-{suffix[1:]}{suffix}",
            options(unit="record"),
            device="cpu",
            progress=False,
        )
    exact = pd.read_json(tmp_path / "p-jsonl.jsonl", lines=True)["text"].tolist()
    assert exact == texts  # JSON Lines keeps the text exactly
    written = pd.read_csv(tmp_path / "p-csv.csv", keep_default_na=False)["text"].tolist()
    assert written == ["'" + t for t in texts[:-1]] + ["Plain text."]
    assert [restore_csv_cell(t) for t in written] == texts


def test_outputs_sharing_a_name_stem_do_not_overwrite_each_others_summaries(model_dir, tmp_path):
    jsonl = tmp_path / "p.jsonl"
    predict(str(model_dir), [str(SOURCES)], jsonl, options(), device="cpu", progress=False)
    manifest = (tmp_path / "p.manifest.json").read_text()
    with pytest.raises(PipelineError) as raised:
        predict(str(model_dir), [str(SOURCES)], tmp_path / "p.csv", options(), device="cpu")
    assert str(raised.value) == (
        f"{tmp_path / 'p.csv'}: its summaries (p.manifest.json, p.actors.csv, p.errors.jsonl) "
        f"would overwrite those of {jsonl}, which has the same name stem; choose another "
        "--output name, or --overwrite to replace that run's summaries"
    )
    assert (tmp_path / "p.manifest.json").read_text() == manifest


def test_the_fake_classifier_scores_through_the_predict_path(model_dir, tmp_path):
    """The fast tests' model (tests/fakes.py) is loaded by the run like a real one, and its
    fixed probabilities and labels are what the rows and the manifest hold."""
    from fakes import PROBABILITIES, keyword_label

    out = tmp_path / "p.jsonl"
    manifest = predict(str(model_dir), [str(SOURCES)], out, options(), device="cpu", progress=False)
    rows = [json.loads(line) for line in out.open()]
    assert rows and {r["label"] for r in rows} == {"accept", "reject", "none"}
    for row in rows:
        label = keyword_label(row["text"])
        assert row["label"] == label
        assert [row[f"p_{k}"] for k in ("accept", "reject", "conditional", "none")] == (
            pytest.approx(list(PROBABILITIES[label]))
        )
    model = manifest["model"]
    assert (model["backend"], model["base_model"], model["onnx_graph"]) == (
        "fake",
        "fake-keywords",
        None,
    )


def test_stance_rows_name_their_target_and_dyads_count_holder_target_months(model_dir, tmp_path):
    records = tmp_path / "r.jsonl"
    articles = [
        ("d1", "2024-03-05", "Hamas said it was ready for talks with Israel. Egypt built a road."),
        ("d2", "2024-03-20", "Israel refused any talks with Hamas."),
        ("d3", "2024-04-02", "Hamas welcomed the offer from Egypt to resume talks with Israel."),
    ]
    records.write_text(
        "".join(json.dumps({"id": i, "date": d, "text": t}) + "\n" for i, d, t in articles)
    )
    out = tmp_path / "p.jsonl"
    predict(str(model_dir), [str(records)], out, options(), device="cpu", progress=False)
    rows = [json.loads(line) for line in out.open()]
    assert [(r["label"], r["holder"], r["target"]) for r in rows] == [
        ("accept", "Hamas", "Israel"),
        ("none", "Egypt", ""),  # a `none` passage has no target, whatever it and its context name
        ("reject", "Israel", "Hamas"),
        ("accept", "Hamas", "Israel"),  # "talks with" outranks the host ("offer from Egypt")
    ]
    dyads = pd.read_csv(tmp_path / "p.dyads.csv", keep_default_na=False, dtype={"month": str})
    stories = {"n_stories": 1, "n_stories_conditional": 0}
    assert dyads.to_dict("records") == [
        {"holder": "Hamas", "target": "Israel", "month": "2024-03", **stories,
         "n_stories_accept": 1, "n_stories_reject": 0, "n_passages": 1,
         "n_accept": 1, "n_reject": 0, "n_conditional": 0},
        {"holder": "Hamas", "target": "Israel", "month": "2024-04", **stories,
         "n_stories_accept": 1, "n_stories_reject": 0, "n_passages": 1,
         "n_accept": 1, "n_reject": 0, "n_conditional": 0},
        {"holder": "Israel", "target": "Hamas", "month": "2024-03", **stories,
         "n_stories_accept": 0, "n_stories_reject": 1, "n_passages": 1,
         "n_accept": 0, "n_reject": 1, "n_conditional": 0},
    ]  # fmt: skip
