"""Batch scoring: outputs, robustness to bad input, resume after interruption."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import REPO

from pipeline.cli import cli
from pipeline.config import PredictConfig
from pipeline.errors import PipelineError
from pipeline.inference import predict

SOURCES = REPO / "annotations" / "sources"


@pytest.fixture
def model_dir(trained_toy_model):
    return trained_toy_model.model_dir


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
        ("latin1.txt", None): "not UTF-8 (invalid byte at offset 3)",
        ("notes.docx", None): "unsupported file type '.docx' (supported: .csv, .htm, .html, "
        ".jsonl, .md, .parquet, .txt)",
        ("records.jsonl", 2): "invalid JSON: Expecting property name enclosed in double quotes",
        ("records.jsonl", 3): "record has no text (field 'text' missing or empty)",
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

    import pipeline.inference as inference

    real_score, calls = inference.score_passages, {"n": 0}

    def crash_on_third_shard(classifier, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_score(classifier, batch)

    monkeypatch.setattr(inference, "score_passages", crash_on_third_shard)
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

    monkeypatch.setattr(inference, "score_passages", real_score)
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
    assert again == first
    (tmp_path / "p.parts").mkdir()
    (tmp_path / "p.parts" / "run.json").write_text(json.dumps({"fingerprint": "other"}))
    with pytest.raises(PipelineError, match="holds shards of a different run"):
        predict(
            str(model_dir), [str(SOURCES)], out, options(window=2), device="cpu", progress=False
        )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_output_formats_hold_the_same_rows(model_dir, tmp_path, suffix):
    jsonl = tmp_path / "p.jsonl"
    predict(str(model_dir), [str(SOURCES)], jsonl, options(), device="cpu", progress=False)
    other = tmp_path / f"p{suffix}"
    predict(str(model_dir), [str(SOURCES)], other, options(), device="cpu", progress=False)
    expected = pd.read_json(jsonl, lines=True, dtype={"date": str})
    got = pd.read_csv(other, keep_default_na=False) if suffix == ".csv" else pd.read_parquet(other)
    assert list(got.columns) == list(expected.columns)
    assert got["passage_id"].tolist() == expected["passage_id"].tolist()
    assert got["label"].tolist() == expected["label"].tolist()
    assert (tmp_path / f"p.articles{suffix}").is_file()


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


def test_score_articles_api_matches_predict(model_dir, tmp_path, trained_toy_model):
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
