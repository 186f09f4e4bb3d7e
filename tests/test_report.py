"""The HTML report and the notebook API: escaping, tables, timeline; then a real browser.

Predictions come from the keyword classifier of tests/fakes.py: the report is tested, not the
model.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
from conftest import REPO

from pipeline.config import PredictConfig
from pipeline.inference import predict
from pipeline.labels import LABELS
from pipeline.report import (
    actor_table,
    load_predictions,
    timeline_figure,
    timeline_frame,
    write_report,
)

PLANTED = (
    "Hamas said it was ready for talks. <script>window.__pwned = 1</script> "
    'The army <img src=x onerror="window.__pwned = 2"> refused any talks with Hamas.'
)


@pytest.fixture(scope="module")
def predictions(fake_model_folder, tmp_path_factory):
    from fakes import use_fake_classifier

    folder = tmp_path_factory.mktemp("pred")
    records = folder / "extra.jsonl"
    records.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "id": "planted",
                    "title": "<b>Bold</b> title",
                    "text": PLANTED,
                    "date": "2024-02-10",
                },
                {
                    "id": "later",
                    "text": "The army refused any talks with the rebels. Rain fell.",
                    "date": "2024-05-01",
                },
            ]
        )
        + "\n"
    )
    out = folder / "passages.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        use_fake_classifier(patch)
        predict(
            str(fake_model_folder),
            [str(REPO / "annotations/sources"), str(records)],
            out,
            PredictConfig(actors=str(REPO / "configs/actors.yaml")),
            device="cpu",
            progress=False,
        )
    return out


def test_notebook_api_tables_and_figure(predictions):
    loaded = load_predictions(predictions)
    assert len(loaded.articles) == 7
    table = actor_table(loaded)
    assert list(table.columns) == [
        "actor",
        "accept",
        "reject",
        "conditional",
        "total",
        "first_month",
        "last_month",
    ]
    assert table["total"].is_monotonic_decreasing
    frame = timeline_frame(loaded)
    assert "2024-02" in frame.index
    figure = timeline_figure(loaded)
    assert figure.axes[0].get_title() == "Stance toward talks per actor"


def test_article_text_cannot_break_out_of_the_data_block(predictions, tmp_path):
    page = write_report(predictions, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>window.__pwned" not in page
    assert 'onerror="window.__pwned' not in page
    assert "\\u003cscript\\u003ewindow.__pwned" in page
    assert page.count("<script") == 2  # the data block and the page's own code
    assert "https://" not in page.split('<script id="report-data"')[0]  # no CDN, works offline


def test_missing_predictions_file_is_named(tmp_path):
    from pipeline.errors import PipelineError

    with pytest.raises(PipelineError, match="not found; is .* the output of stance predict"):
        load_predictions(tmp_path / "nothing.jsonl")


def _predict_records(model_dir, folder, records, output_name="p.jsonl"):
    inputs = folder / "records.jsonl"
    inputs.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = folder / output_name
    predict(
        str(model_dir),
        [str(inputs)],
        out,
        PredictConfig(actors=str(REPO / "configs/actors.yaml"), unit="record"),
        device="cpu",
        progress=False,
    )
    return out


def test_empty_predict_output_gives_an_empty_report(fake_model, tmp_path):
    out = _predict_records(fake_model, tmp_path, [{"id": "x", "title": "no text"}])
    assert out.read_text() == ""
    page = write_report(out, tmp_path / "r.html").read_text(encoding="utf-8")
    assert '"articles":0' in page and '"passages":0' in page


def test_holder_target_table_counts_dyads_and_escapes_their_names(fake_model, tmp_path):
    import yaml

    from pipeline.report import dyad_table, report_data

    actors = tmp_path / "actors.yaml"
    actors.write_text(yaml.safe_dump({"<b>Rebels</b>": ["the rebels"], "Army & Co": ["the army"]}))
    inputs = tmp_path / "records.jsonl"
    texts = [
        "The army refused any talks with the rebels.",
        "The rebels said they were ready for talks with the army.",
        "The rebels refused to meet the army.",
        "Rain fell.",
    ]
    inputs.write_text(
        "".join(json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    )
    out = tmp_path / "p.jsonl"
    options = PredictConfig(actors=str(actors), unit="record")
    predict(str(fake_model), [str(inputs)], out, options, device="cpu", progress=False)
    loaded = load_predictions(out)
    assert dyad_table(loaded).to_dict("records") == [
        {"holder": "<b>Rebels</b>", "target": "Army & Co", "stories_accept": 1,
         "stories_reject": 1, "stories_conditional": 0, "stories": 2, "accept": 1, "reject": 1,
         "conditional": 0, "total": 2},
        {"holder": "Army & Co", "target": "<b>Rebels</b>", "stories_accept": 0,
         "stories_reject": 1, "stories_conditional": 0, "stories": 1, "accept": 0, "reject": 1,
         "conditional": 0, "total": 1},
    ]  # fmt: skip
    assert report_data(loaded)["dyads"][0] == {
        "holder": "<b>Rebels</b>",
        "target": "Army & Co",
        "stories": [1, 1, 0],
        "n_stories": 2,
        "n": [1, 1, 0],
        "total": 2,
    }
    page = write_report(out, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<b>Rebels</b>" not in page and "\\u003cb\\u003eRebels" in page
    assert 'id="dyad-table"' in page


def test_impossible_and_outlying_dates_are_named_and_left_out_of_the_timeline(
    fake_model, tmp_path, caplog
):
    from pipeline.report import report_data

    refusal = "The army refused any talks with the rebels."
    records = [
        {"id": f"a{i}", "text": refusal, "date": f"2024-{1 + i % 6:02d}-10"} for i in range(30)
    ]
    records += [
        {"id": "bad", "text": refusal, "date": "2024-13-45"},
        {"id": "old", "text": refusal, "date": "1900-01-01"},
    ]
    out = _predict_records(fake_model, tmp_path, records)
    data = report_data(load_predictions(out))
    assert data["stance"]["label"].count(LABELS.index("reject")) == 32
    assert data["months"] == [f"2024-{m:02d}" for m in range(1, 7)]
    assert data["overview"]["timeline_note"] == (
        "Left out of the timeline (still listed below): 1 passage(s) with a date that is not a "
        "real date (2024-13-45); 1 passage(s) dated 1900-01, more than 10 years from the rest."
    )
    with caplog.at_level("WARNING", logger="pipeline.report"):
        write_report(out, tmp_path / "r.html")
    assert "2024-13-45" in caplog.text and "1900-01" in caplog.text
    actors = load_predictions(out).actors
    assert "2024-13" not in set(actors["month"])  # the actor-month table names no month 13


def test_report_to_an_unwritable_place_is_a_clear_error(predictions, tmp_path):
    from click.testing import CliRunner

    from pipeline.cli import cli

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(
        cli, ["report", str(predictions), "--output", str(blocker / "r.html")]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {blocker / 'r.html'}: cannot write the output here: ")


@pytest.mark.parametrize("target", ["passages.jsonl", "passages.articles.jsonl"])
def test_report_over_a_predict_file_is_refused_and_the_file_kept(predictions, target):
    from click.testing import CliRunner

    from pipeline.cli import cli

    victim = predictions.parent / target
    before = victim.read_bytes()
    result = CliRunner().invoke(cli, ["report", str(predictions), "--output", str(victim)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {victim}: this output would overwrite an input file; choose an --output that "
        "is not among the inputs\n"
    )
    assert victim.read_bytes() == before


def _damaged_copy(predictions, folder, name, content: bytes, append=False):
    for file in predictions.parent.glob("passages*"):
        shutil.copy(file, folder / file.name)
    target = folder / name
    target.write_bytes((target.read_bytes() if append else b"") + content)
    return folder / "passages.jsonl"


@pytest.mark.parametrize(
    ("name", "content", "append", "expected"),
    [
        ("passages.jsonl", b"{broken\n", True, r"passages.jsonl:\d+: json: invalid JSON"),
        ("passages.jsonl", b"\xff\xfe\n", True, r"passages.jsonl:\d+: encoding: not UTF-8"),
        ("passages.manifest.json", b"nope", False, "passages.manifest.json: unreadable run"),
        ("passages.actors.csv", b"", False, "passages.actors.csv: unreadable"),
        ("passages.articles.jsonl", b'{"a": 1}\n', False, "passages.articles.jsonl: missing col"),
    ],
)
def test_damaged_predict_outputs_are_named_not_a_traceback(
    predictions, tmp_path, name, content, append, expected
):
    from click.testing import CliRunner

    from pipeline.cli import cli

    damaged = _damaged_copy(predictions, tmp_path, name, content, append)
    result = CliRunner().invoke(cli, ["report", str(damaged), "--output", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert re.match(rf"error: {re.escape(str(tmp_path))}/{expected}", result.stderr)
    assert result.stderr.rstrip().endswith(
        "rerun `stance predict` with --overwrite to write it again"
    )


def test_report_reads_csv_text_back_exactly(fake_model, tmp_path):
    records = [{"id": "f", "text": "=1+1 talks were refused", "date": "2024-01-02"}]
    out = _predict_records(fake_model, tmp_path, records, "p.csv")
    assert "'=1+1" in out.read_text()
    assert load_predictions(out).passages["text"].tolist() == ["=1+1 talks were refused"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; `make test` installs Debian's chromium")
        pytest.skip("chromium not installed (make test installs it)")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, predictions, tmp_path):
    report = write_report(predictions, tmp_path / "report.html")
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(report.resolve().as_uri())
    page.wait_for_selector("body[data-ready='1']")
    yield page
    assert errors == []
    page.close()


@pytest.mark.slow
def test_report_renders_timeline_actor_table_and_highlights(page, tmp_path):
    assert page.locator("#timeline g.cell rect").count() > 0
    assert page.locator("#actor-table tbody tr").count() > 0
    assert page.locator("#dyad-table tbody tr").count() > 1  # more than one holder -> target
    assert page.locator("#article-text span.hl").count() > 0
    assert page.locator("#cards .card").count() == 6
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000


@pytest.mark.slow
def test_filters_change_what_is_shown(page):
    def shown_labels():
        return set(
            page.locator("#passage-list .passage").evaluate_all(
                "nodes => nodes.map(n => n.dataset.label)"
            )
        )

    def shown_count():
        return int(page.locator("#filter-count").inner_text().split()[0])

    before = shown_count()
    assert "accept" in shown_labels()
    page.uncheck("#label-accept")
    assert "accept" not in shown_labels()
    page.check("#label-accept")
    actor = page.locator("#actor-table tbody tr td").first.inner_text()
    page.select_option("#actor-filter", actor)
    holders = set(page.locator("#passage-list .passage .holder").all_inner_texts())
    assert holders == {actor}
    assert shown_count() < before
    page.select_option("#actor-filter", "")
    assert shown_count() == before
    page.fill("#from-filter", "2024-01")
    assert 0 < shown_count() < before
    page.fill("#from-filter", "")
    page.locator("#conf-filter").fill("0.95")
    assert shown_count() < before


@pytest.mark.slow
def test_planted_markup_is_shown_as_text_and_never_runs(page):
    assert page.evaluate("window.__pwned") is None
    page.select_option("#actor-filter", "")
    page.locator("#article-list .linklike", has_text="Bold").click()
    assert page.locator("#article-title").inner_text() == "<b>Bold</b> title"
    assert "<script>window.__pwned = 1</script>" in page.locator("#article-text").inner_text()
    assert page.locator("#article-text img").count() == 0
    assert page.evaluate("window.__pwned") is None
