"""The HTML report and the notebook API: escaping, tables, timeline; then a real browser."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from conftest import REPO

from pipeline.config import PredictConfig
from pipeline.inference import predict
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
def predictions(trained_toy_model, tmp_path_factory):
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
    predict(
        str(trained_toy_model.model_dir),
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
