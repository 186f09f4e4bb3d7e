"""The annotation loop: suggest -> export -> label in a tool -> import -> validate -> retrain."""

from __future__ import annotations

import csv
import json
import re
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import REPO

from pipeline.annotations import CONDITION_TO_STATE, Statement, validate
from pipeline.cli import cli
from pipeline.errors import DataError
from pipeline.interchange import (
    FORMATS,
    LABEL_STUDIO_CONFIG,
    PRODIGY_BLOCKS,
    TOOL_SETUP,
    export_statements,
    import_statements,
    write_statements,
)
from pipeline.labels import LABELS
from pipeline.suggest import select, source_name, uncertainty

SOURCES = REPO / "annotations" / "sources"


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_uncertainty_strategies():
    probs = np.array([[0.97, 0.01, 0.01, 0.01], [0.4, 0.35, 0.15, 0.1]])
    assert uncertainty(probs, "entropy").argmax() == 1
    assert uncertainty(probs, "margin")[1] == pytest.approx(0.95)


def row(i, doc, probs, text=None):
    return {
        "doc_id": doc,
        "passage_id": f"{doc}#{i}",
        "text": text or f"passage number {i} about topic {i * 7919 % 1000}",
        "start": 0,
        "end": 5,
        **{f"p_{label}": p for label, p in zip(LABELS, probs)},
        "label": "accept",
        "holder": "X",
        "date": "",
    }


def test_selection_is_uncertain_spread_deduplicated_and_part_random():
    rows = [row(i, f"d{i % 3}", [0.3, 0.3, 0.2, 0.2]) for i in range(30)]  # all uncertain
    rows += [row(100 + i, "d9", [0.97, 0.01, 0.01, 0.01]) for i in range(50)]  # all confident
    rows.append(row(999, "d4", [0.3, 0.3, 0.2, 0.2], text=rows[0]["text"] + "!"))  # near-dup
    picks = select(rows, n=10, random_share=0.2, per_article=3, seed=1)
    assert len(picks) == 10
    kinds = [kind for _, kind, _ in picks]
    assert kinds.count("random") == 2 and kinds.count("uncertain") == 8
    uncertain = [r for r, kind, _ in picks if kind == "uncertain"]
    assert all(r["doc_id"] != "d9" for r in uncertain)
    assert max(sum(r["doc_id"] == d for r in uncertain) for d in ("d0", "d1", "d2")) <= 3
    assert "d4#999" not in {r["passage_id"] for r, _, _ in picks}


def statements():
    return [
        Statement(
            id="s1",
            text="They refused talks.",
            label="reject",
            holder="Hamas",
            doc_id="d",
            source="authored",
            annotator="a",
            date="2024-01-02",
            note='comma, "quotes"',
            probabilities={"accept": 0.1, "reject": 0.7, "conditional": 0.1, "none": 0.1},
        ),
        Statement(
            id="s2",
            text="Talks only if troops leave.",
            label="conditional",
            holder="Taliban",
            condition="troops leave",
            doc_id="d",
            source="authored",
            annotator="a",
        ),
        Statement(
            id="s3",
            text="Rain fell.",
            label="none",
            doc_id="e",
            source="x.txt",
            char_start=0,
            char_end=10,
            annotator="a",
            conflict="Yemen",
        ),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_import_round_trip_keeps_every_field(fmt, tmp_path):
    suffix = {"label-studio": ".json", "argilla": ".parquet", "csv": ".csv"}.get(fmt, ".jsonl")
    path = export_statements(statements(), tmp_path / f"out{suffix}", fmt)
    back, problems = import_statements(path, fmt)
    assert problems == []
    assert back == statements()


def test_csv_export_neutralises_formulas_and_import_restores_them(tmp_path):
    formulas = Statement(
        id="=id",
        text='=HYPERLINK("http://x","talks")',
        label="conditional",
        holder="@rebels",
        target="+army",
        condition="-1 troops",
        doc_id="d",
        source="authored",
        annotator="a",
        note="'quoted already",
    )
    path = export_statements([formulas], tmp_path / "s.csv", "csv")
    with open(path, encoding="utf-8", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert row["id"] == "'=id" and row["text"] == """'=HYPERLINK("http://x","talks")"""
    assert (row["holder"], row["target"], row["condition"], row["note"]) == (
        "'@rebels",
        "'+army",
        "'-1 troops",
        "''quoted already",
    )
    back, problems = import_statements(path, "csv")
    assert problems == [] and back == [formulas]


def test_exports_and_imports_to_an_unwritable_place_are_clear_errors(tmp_path):
    from pipeline.errors import PipelineError

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "out.jsonl"
    expected = f"{target}: cannot write the output here: "
    with pytest.raises(PipelineError, match=f"^{re.escape(expected)}"):
        write_statements(statements(), target)
    with pytest.raises(PipelineError, match=f"^{re.escape(expected)}"):
        export_statements(statements(), target, "doccano")
    exported = export_statements(statements(), tmp_path / "d.jsonl", "doccano")
    result = CliRunner().invoke(
        cli, ["import", str(exported), "--format", "doccano", "--output", str(target)]
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(f"error: {expected}")
    assert not target.exists()


def test_exports_follow_the_tools_documented_shapes(tmp_path):
    tasks = json.loads(
        export_statements(statements(), tmp_path / "t.json", "label-studio").read_text()
    )
    assert isinstance(tasks, list) and set(tasks[0]) == {"data", "predictions"}
    prediction = tasks[0]["predictions"][0]
    assert prediction["score"] == 0.7 and isinstance(prediction["model_version"], str)
    assert prediction["result"] == [
        {
            "from_name": "stance",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": ["reject"]},
        },
        {
            "from_name": "holder",
            "to_name": "text",
            "type": "textarea",
            "value": {"text": ["Hamas"]},
        },
    ]
    assert tasks[0]["data"]["text"] == "They refused talks."
    doccano = [
        json.loads(x)
        for x in export_statements(statements(), tmp_path / "d.jsonl", "doccano").open()
    ]
    assert doccano[1]["text"] and doccano[1]["label"] == ["conditional"]
    prodigy = [
        json.loads(x)
        for x in export_statements(statements(), tmp_path / "p.jsonl", "prodigy").open()
    ]
    assert [o["id"] for o in prodigy[0]["options"]] == list(LABELS)
    assert prodigy[0]["accept"] == ["reject"] and prodigy[0]["meta"]["id"] == "s1"
    import pandas as pd

    frame = pd.read_parquet(export_statements(statements(), tmp_path / "a.parquet", "argilla"))
    assert {"text", "label", "suggestion_label", "suggestion_score"} <= set(frame.columns)


def test_import_reports_conflicting_and_unknown_labels_with_location(tmp_path):
    tasks = json.loads(
        export_statements(statements(), tmp_path / "t.json", "label-studio").read_text()
    )

    def annotation(choice):
        return {
            "result": [
                {
                    "from_name": "stance",
                    "to_name": "text",
                    "type": "choices",
                    "value": {"choices": [choice]},
                }
            ]
        }

    tasks[0]["annotations"] = [annotation("accept"), annotation("reject")]
    tasks[1]["annotations"] = [annotation("maybe")]
    tasks[2]["annotations"] = [annotation("none")]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    imported, problems = import_statements(path, "label-studio")
    assert [str(p) for p in problems] == [
        f"{path}:1: label: conflicting labels ['accept', 'reject'] in task 1; adjudicate before "
        "importing",
        f"{path}:2: label: unknown label 'maybe' in task 2 (expected one of accept, reject, "
        "conditional, none)",
    ]
    assert [s.id for s in imported] == ["s3"]


def test_loop_runs_end_to_end_with_a_simulated_annotator(
    trained_toy_model, toy_config, toy_annotations, tmp_path
):
    model = trained_toy_model.model_dir
    shutil.copytree(SOURCES, tmp_path / "sources")  # the annotation tree's sources/ folder
    suggestions = tmp_path / "to_label.jsonl"
    out = run(
        "suggest",
        "--model",
        model,
        tmp_path / "sources",
        "--n",
        20,
        "--per-article",
        4,
        "--output",
        suggestions,
        "--actors",
        REPO / "configs/actors.yaml",
        "--device",
        "cpu",
    )
    assert "20 suggestions (18 uncertain, 2 random)" in out.output
    records, problems = validate([suggestions])
    assert problems == []
    assert all(r.statement.probabilities for r in records)

    run("export", suggestions, "--format", "label-studio", "--output", tmp_path / "tasks.json")
    tasks = json.loads((tmp_path / "tasks.json").read_text())

    def simulated_annotator(text):  # a crude but consistent human stand-in
        lowered = text.lower()
        if "refus" in lowered or "reject" in lowered or "no negotiat" in lowered:
            return "reject"
        if " if " in lowered or "until" in lowered or "unless" in lowered:
            return "conditional"
        if "talk" in lowered or "negotiat" in lowered:
            return "accept"
        return "none"

    chosen = {}
    for task in tasks:  # the person answers in the form the printed config sets up
        label = chosen[task["data"]["id"]] = simulated_annotator(task["data"]["text"])
        result = [
            {
                "from_name": "stance",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [label]},
            }
        ]
        answers = {"holder": "" if label == "none" else task["data"]["holder"] or "Hamas"}
        answers["condition"] = "stated in the passage" if label == "conditional" else ""
        result += [
            {"from_name": name, "to_name": "text", "type": "textarea", "value": {"text": [text]}}
            for name, text in answers.items()
            if text
        ]
        task["annotations"] = [{"completed_by": 1, "result": result}]
    (tmp_path / "labelled.json").write_text(json.dumps(tasks))
    run(
        "import",
        tmp_path / "labelled.json",
        "--format",
        "label-studio",
        "--output",
        tmp_path / "labelled.jsonl",
        "--strict",
    )
    run("validate", tmp_path / "labelled.jsonl")
    imported = [r.statement for r in validate([tmp_path / "labelled.jsonl"])[0]]
    assert {s.id: s.label for s in imported} == chosen  # every human correction kept
    assert {s.annotator for s in imported} == {"label-studio:1"}

    config = toy_config(epochs=3).model_copy(
        update={
            "data": toy_config().data.model_copy(
                update={"paths": [str(toy_annotations), str(tmp_path / "labelled.jsonl")]}
            )
        }
    )
    from pipeline.training import train

    result = train(config, output_dir=tmp_path / "retrained", progress=False)
    meta = json.loads((result.model_dir / "meta.json").read_text())
    assert str(tmp_path / "labelled.jsonl") in meta["data"]["files"]
    assert sum(meta["data"]["split_sizes"].values()) == 112 + 20
    with open(tmp_path / "labelled.jsonl") as handle:
        assert sum(1 for _ in handle) == 20
    assert csv  # the CSV route is covered by the round-trip test


def suggestions():
    """Model suggestions as `suggest` writes them: nobody has reviewed them yet."""
    common = {"doc_id": "d", "source": "authored", "annotator": "model:run1"}
    return [
        Statement(id="m1", text="Hamas said it is ready for talks.", label="none", **common),
        Statement(
            id="m2",
            text="Talks only if the troops leave.",
            label="accept",
            holder="Taliban",
            **common,
        ),
        Statement(
            id="m3",
            text="Rain fell on the capital.",
            label="conditional",
            holder="unknown",
            condition=CONDITION_TO_STATE,
            **common,
        ),
        Statement(id="m4", text="Nobody looked at this one.", label="none", **common),
    ]


# What the person answered for m1..m3 (m4 is left unlabelled): label, holder, condition.
CORRECTIONS = {
    "m1": ("accept", "Hamas", ""),
    "m2": ("conditional", "Taliban", "troops leave"),
    "m3": ("none", "", ""),
}


def annotate_label_studio(path):
    tasks = json.loads(path.read_text())
    for task in tasks:
        if task["data"]["id"] not in CORRECTIONS:
            continue
        label, holder, condition = CORRECTIONS[task["data"]["id"]]
        result = [  # what the person submitted: their label, holder and condition
            {
                "from_name": "stance",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [label]},
            }
        ]
        for name, text in (("holder", holder), ("condition", condition)):
            if text:
                result.append(
                    {
                        "from_name": name,
                        "to_name": "text",
                        "type": "textarea",
                        "value": {"text": [text]},
                    }
                )
        task["annotations"] = [{"completed_by": 7, "result": result, "was_cancelled": False}]
    path.write_text(json.dumps(tasks))
    return path, "label-studio:7"


def annotate_doccano(path):
    labelled = path.with_name("alice.jsonl")  # doccano writes one file per annotator
    lines = []
    for line in path.read_text().splitlines():
        item = json.loads(line)
        item["label"] = [CORRECTIONS[item["id"]][0]] if item["id"] in CORRECTIONS else []
        lines.append(json.dumps(item))
    labelled.write_text("\n".join(lines) + "\n")
    return labelled, "doccano:alice"


def annotate_prodigy(path):
    lines = []
    for line in path.read_text().splitlines():
        task = json.loads(line)
        if task["meta"]["id"] in CORRECTIONS:
            label, holder, condition = CORRECTIONS[task["meta"]["id"]]
            task.update(
                answer="accept",
                accept=[label],
                holder=holder,
                condition=condition,
                _annotator_id="stance-alice",
                _session_id="stance-alice",
            )
        lines.append(json.dumps(task))
    path.write_text("\n".join(lines) + "\n")
    return path, "prodigy:stance-alice"


def annotate_argilla(path):
    """Argilla's records export: the statement's label, holder and condition were logged as
    suggestions of the questions of the same name; people's answers are responses."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for row in pq.read_table(path).to_pylist():
        out = {k: v for k, v in row.items() if k not in {"label", "holder", "condition"}}
        out.update({f"{q}.suggestion": row[q] for q in ("label", "holder", "condition")})
        out["status"] = "pending"
        answer = CORRECTIONS.get(row["id"])
        for question, value in zip(("label", "holder", "condition"), answer or ("", "", "")):
            given = [value] if answer and value else []
            out[f"{question}.responses"] = given
            out[f"{question}.responses.users"] = ["u-alice"] * len(given)
            out[f"{question}.responses.status"] = ["submitted"] * len(given)
        rows.append(out)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path, "argilla:u-alice"


ANNOTATE = {
    "label-studio": annotate_label_studio,
    "doccano": annotate_doccano,
    "prodigy": annotate_prodigy,
    "argilla": annotate_argilla,
}


@pytest.mark.parametrize("fmt", sorted(ANNOTATE))
def test_human_corrections_survive_every_tool_with_the_annotator_recorded(fmt, tmp_path):
    suffix = {"label-studio": ".json", "argilla": ".parquet"}.get(fmt, ".jsonl")
    exported = export_statements(suggestions(), tmp_path / f"tasks{suffix}", fmt)
    labelled, annotator = ANNOTATE[fmt](exported)
    imported, problems = import_statements(labelled, fmt)
    tool = {"label-studio": "Label Studio", "doccano": "doccano"}.get(fmt, fmt.capitalize())
    assert [str(p) for p in problems] == [
        f"{labelled}:4: label: not labelled by a person in {tool} (only the model's "
        "suggestion); label it there, or leave it out of the export"
    ]
    got = {s.id: (s.label, s.holder, s.condition, s.annotator) for s in imported}
    if fmt == "doccano":  # doccano asks for the label only: the rest is filled in and noted
        assert got == {
            "m1": ("accept", "unknown", "", annotator),
            "m2": ("conditional", "Taliban", CONDITION_TO_STATE, annotator),
            "m3": ("none", "", "", annotator),
        }
        notes = {s.id: s.note for s in imported}
        assert notes["m1"] == "holder not given in doccano: set to 'unknown'"
        assert notes["m2"] == "condition not given in doccano: state it"
    else:
        assert got == {key: (*answer, annotator) for key, answer in CORRECTIONS.items()}
    write_statements(imported, tmp_path / "labelled.jsonl")
    assert validate([tmp_path / "labelled.jsonl"])[1] == []


def test_tool_setups_ask_for_every_field_the_import_needs():
    import xml.etree.ElementTree as ET

    view = ET.fromstring(LABEL_STUDIO_CONFIG)
    controls = {element.get("name"): element for element in view}
    assert controls["stance"].tag == "Choices"
    assert [c.get("value") for c in controls["stance"]] == list(LABELS)
    assert controls["holder"].tag == controls["condition"].tag == "TextArea"
    fields = [b.get("field_id") for b in PRODIGY_BLOCKS["blocks"] if b["view_id"] == "text_input"]
    assert fields == ["holder", "condition"]
    for question in ('LabelQuestion(name="label"', 'TextQuestion(name="holder"'):
        assert question in TOOL_SETUP["argilla"]
    assert 'TextQuestion(name="condition"' in TOOL_SETUP["argilla"]


def test_unicode_line_separators_inside_text_survive_jsonl_tools(tmp_path):
    odd = [
        s.model_copy(update={"text": "One\u2028two\u2029three\u0085four."}) for s in statements()
    ]
    for fmt in ("doccano", "prodigy"):
        path = export_statements(odd, tmp_path / f"{fmt}.jsonl", fmt)
        assert len(path.read_bytes().split(b"\n")) == 4  # three records, one per line
        back, problems = import_statements(path, fmt)
        assert problems == [] and back == odd
    broken = tmp_path / "broken.jsonl"
    broken.write_text(
        (tmp_path / "doccano.jsonl").read_text(encoding="utf-8") + "{not json\n", encoding="utf-8"
    )
    assert [str(p) for p in import_statements(broken, "doccano")[1]] == [
        f"{broken}:4: json: invalid JSON: Expecting property name enclosed in double quotes"
    ]


def _messages(path, fmt):
    return [str(p) for p in import_statements(path, fmt)[1]]


def test_malformed_label_studio_exports_are_located(tmp_path):
    path = tmp_path / "ls.json"
    path.write_text(json.dumps({"data": {"text": "x"}}))
    with pytest.raises(DataError) as info:
        import_statements(path, "label-studio")
    assert str(info.value) == (
        f"{path}: expected a JSON array of tasks, got an object; export the project from Label "
        "Studio as JSON (Export > JSON)"
    )
    good = json.loads(
        export_statements(statements(), tmp_path / "t.json", "label-studio").read_text()
    )
    tasks = [
        "not a task",
        {"id": 11, "data": ["text"]},
        {"id": 12, "data": good[0]["data"], "annotations": [{"result": "accept"}]},
        {"id": 13, "data": good[1]["data"], "annotations": {"result": []}},
        {
            "id": 14,
            "data": good[2]["data"],
            "annotations": [
                {"result": [{"from_name": "stance", "value": {"choices": "none"}}]},
                {"result": [{"from_name": "stance", "value": {"choices": [3]}}]},
            ],
        },
        {"id": 15, "data": good[2]["data"], "annotations": [{"result": ["none"]}]},
    ]
    path.write_text(json.dumps(tasks))
    assert _messages(path, "label-studio") == [
        f"{path}:1: task: task 1: expected an object, got a string",
        f"{path}:2: data: task 11: expected an object of statement fields, got a list",
        f"{path}:3: annotations[1].result: task 12: expected a list, got a string",
        f"{path}:4: annotations: task 13: expected a list, got an object",
        f"{path}:5: annotations[2].result[1].value.choices: task 14: expected a list of strings, "
        "got a list",
        f"{path}:6: annotations[1].result[1]: task 15: expected an object with a 'value' object",
    ]
    path.write_bytes(b'[{"data": {"text": "caf\xe9"}}]')
    with pytest.raises(DataError, match="not UTF-8 text"):
        import_statements(path, "label-studio")


def test_malformed_jsonl_tool_exports_are_located(tmp_path):
    doccano = tmp_path / "doccano.jsonl"
    doccano.write_text('[1]\n{"text": "x", "label": {"name": "none"}}\n{"text": "x", "label": 3}\n')
    assert _messages(doccano, "doccano") == [
        f"{doccano}:1: json: expected a JSON object",
        f"{doccano}:2: label: the label list: expected a list of strings, got an object",
        f"{doccano}:3: label: the label list: expected a list of strings, got a number",
    ]
    prodigy = tmp_path / "prodigy.jsonl"
    prodigy.write_text(
        '{"text": "x", "meta": ["id"], "answer": "accept"}\n'
        '{"text": "x", "meta": {}, "answer": "accept", "accept": 1}\n'
        '{"text": "x", "meta": {}, "answer": "maybe"}\n'
    )
    assert _messages(prodigy, "prodigy") == [
        f"{prodigy}:1: meta: expected an object, got a list",
        f"{prodigy}:2: accept: accept: expected a list of strings, got a number",
        f"{prodigy}:3: answer: unknown answer 'maybe' (expected accept, reject or ignore)",
    ]


def test_malformed_csv_and_parquet_exports_are_located(tmp_path):
    path = export_statements(statements(), tmp_path / "s.csv", "csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    bad_offset = lines[3].replace(",0,10,Yemen", ",zero,10,Yemen")
    assert bad_offset != lines[3]
    path.write_text("\n".join([lines[0], lines[1] + ",extra", bad_offset]) + "\n", encoding="utf-8")
    assert _messages(path, "csv") == [
        f"{path}:2: row: more values than the header has columns",
        f"{path}:3: char_start: expected a whole number, got 'zero'",
    ]
    path.write_text(",".join(h for h in header if h not in {"label", "annotator"}) + "\n")
    with pytest.raises(DataError) as info:
        import_statements(path, "csv")
    assert str(info.value) == (
        f"{path}:1: header: missing column(s) label, annotator; start from a file written by "
        "`stance export --format csv`"
    )
    path.write_bytes(lines[0].encode() + b"\ns1,caf\xe9\n")
    with pytest.raises(DataError, match=rf"{path}:2: not UTF-8"):
        import_statements(path, "csv")
    parquet = tmp_path / "a.parquet"
    parquet.write_text("not parquet")
    with pytest.raises(DataError, match=rf"{parquet}: not a readable Parquet file"):
        import_statements(parquet, "argilla")


def test_import_command_reports_malformed_files_without_a_traceback(tmp_path):
    path = tmp_path / "ls.json"
    path.write_text(json.dumps({"tasks": []}))
    result = CliRunner().invoke(
        cli, ["import", str(path), "--format", "label-studio", "--output", str(tmp_path / "o")]
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.startswith(f"error: {path}: expected a JSON array of tasks")


def test_suggestion_sources_are_names_inside_a_sources_folder(tmp_path):
    nested = tmp_path / "corpus" / "sources" / "2024" / "a.txt"
    nested.parent.mkdir(parents=True)
    nested.write_text("x")
    assert source_name(str(nested)) == "2024/a.txt"
    assert source_name(str(tmp_path / "news" / "b.txt")) == "b.txt"


def test_suggested_offsets_validate_on_a_bom_crlf_source(fake_model, tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "windows.txt").write_bytes(
        b"\xef\xbb\xbfRebels ready for talks\r\n\r\nThe rebels said they were ready to talk."
        b"\r\nThe army refused any talks.\rOld Mac line: the council urged dialogue.\r\n"
    )
    suggestions = tmp_path / "to_label.jsonl"
    run(
        "suggest",
        "--model",
        fake_model,
        sources,
        "--n",
        4,
        "--random-share",
        0,
        "--per-article",
        4,
        "--output",
        suggestions,
        "--actors",
        REPO / "configs/actors.yaml",
        "--device",
        "cpu",
    )
    records, problems = validate([suggestions])
    assert problems == []
    assert len(records) == 4 and {r.statement.source for r in records} == {"windows.txt"}


def _suggest(model_dir, *inputs, output):
    return CliRunner().invoke(
        cli,
        [
            "suggest",
            "--model",
            str(model_dir),
            *[str(i) for i in inputs],
            "--n",
            "2",
            "--output",
            str(output),
            "--actors",
            str(REPO / "configs/actors.yaml"),
            "--device",
            "cpu",
        ],
    )


def test_suggest_with_a_missing_input_is_an_error_naming_it(fake_model, tmp_path):
    missing = tmp_path / "no-such-folder"
    result = _suggest(fake_model, SOURCES, missing, output=tmp_path / "s.jsonl")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: input not found: {missing}; check the path (a glob must match at least one file)\n"
    )
    assert not (tmp_path / "s.jsonl").exists()


def test_suggest_reports_renamed_duplicate_ids_as_renamed_not_skipped(fake_model, tmp_path):
    for name in ("a.jsonl", "b.jsonl"):
        (tmp_path / name).write_text(
            json.dumps({"id": "dup", "text": "The rebels said they were ready to talk."}) + "\n"
        )
    result = _suggest(
        fake_model,
        tmp_path / "a.jsonl",
        tmp_path / "b.jsonl",
        output=tmp_path / "out" / "s.jsonl",
    )
    assert result.exit_code == 0, result.output
    assert "skipped" not in result.stderr
    assert result.stderr.startswith(f"renamed {tmp_path / 'b.jsonl'}:1: duplicate id 'dup'")


def test_export_and_import_never_write_over_their_input(tmp_path):
    authored = statements()[:2]  # validate needs no source documents for these
    annotations = write_statements(authored, tmp_path / "gold.jsonl")
    before = annotations.read_bytes()
    refusal = "this output would overwrite an input file; choose an --output that is not among"
    result = CliRunner().invoke(
        cli, ["export", str(annotations), "--format", "doccano", "--output", str(annotations)]
    )
    assert result.exit_code == 1 and result.stderr.startswith(f"error: {annotations}: {refusal}")
    assert annotations.read_bytes() == before
    tasks = export_statements(statements(), tmp_path / "tasks.json", "label-studio")
    tasks_before = tasks.read_bytes()
    result = CliRunner().invoke(
        cli, ["import", str(tasks), "--format", "label-studio", "--output", str(tasks)]
    )
    assert result.exit_code == 1 and result.stderr.startswith(f"error: {tasks}: {refusal}")
    assert tasks.read_bytes() == tasks_before


@pytest.mark.parametrize(
    "option", [["--n", "0"], ["--random-share", "1.5"], ["--per-article", "0"]]
)
def test_suggest_refuses_out_of_range_options(tmp_path, option):
    result = CliRunner().invoke(
        cli, ["suggest", "--model", str(tmp_path), str(SOURCES), "--output", "s.jsonl", *option]
    )
    assert result.exit_code == 2 and f"Invalid value for '{option[0]}'" in result.output


def test_suggestions_from_articles_with_odd_dates_are_written(fake_model, tmp_path):
    records = tmp_path / "articles.jsonl"
    records.write_text(
        json.dumps({"id": "bad", "text": "The rebels were ready to talk.", "date": "2024-13-45"})
        + "\n"
        + json.dumps(
            {"id": "stamp", "text": "The army refused any talks.", "date": "2024-01-02T10:00Z"}
        )
        + "\n"
    )
    output = tmp_path / "out" / "s.jsonl"
    result = CliRunner().invoke(
        cli,
        [
            "suggest",
            "--model",
            str(fake_model),
            str(records),
            "--n",
            "2",
            "--per-article",
            "1",
            "--output",
            str(output),
            "--actors",
            str(REPO / "configs/actors.yaml"),
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in output.read_text().splitlines()]
    dates = {(s["doc_id"], s["date"]) for s in written}
    assert dates == {("bad", None), ("stamp", "2024-01-02")}
    bad = next(s for s in written if s["doc_id"] == "bad")
    assert bad["note"].endswith(
        "the article's date '2024-13-45' is not a date (YYYY-MM-DD): left out"
    )
