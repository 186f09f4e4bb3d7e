"""Agreement figures match values computed by hand on a small fixture."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipeline.agreement import agreement, read_labels
from pipeline.cli import cli
from pipeline.errors import DataError

A = [
    "accept",
    "accept",
    "reject",
    "reject",
    "conditional",
    "conditional",
    "none",
    "none",
    "none",
    "accept",
]
B = [
    "accept",
    "reject",
    "reject",
    "reject",
    "conditional",
    "none",
    "none",
    "none",
    "none",
    "accept",
]


def write(path, labels):
    path.write_text(
        "".join(
            json.dumps({"id": f"s{i}", "text": f"t{i}", "label": label}) + "\n"
            for i, label in enumerate(labels)
        )
    )
    return path


def test_two_annotators_match_hand_computed_values(tmp_path):
    result = agreement(
        [read_labels(write(tmp_path / "a.jsonl", A)), read_labels(write(tmp_path / "b.jsonl", B))],
        ["a", "b"],
    )
    pair = result["pairs"][0]
    assert pair["observed_agreement"] == pytest.approx(0.8)
    # p_e = (3*2 + 2*3 + 2*1 + 3*4) / 100 = 0.26; kappa = (0.8 - 0.26) / 0.74
    assert pair["cohen_kappa"] == pytest.approx(0.54 / 0.74)
    # nominal alpha = 1 - (n - 1) * disagreeing pairs / (n^2 - sum n_c^2) = 1 - 19 * 4 / 292
    assert result["krippendorff_alpha"] == pytest.approx(1 - 76 / 292)
    specific = {k: v["specific_agreement"] for k, v in pair["per_label"].items()}
    assert specific == pytest.approx(
        {"accept": 0.8, "reject": 0.8, "conditional": 2 / 3, "none": 6 / 7}
    )
    assert pair["confusion_matrix"]["matrix"] == [
        [2, 1, 0, 0],
        [0, 2, 0, 0],
        [0, 0, 1, 1],
        [0, 0, 0, 3],
    ]
    assert [d["id"] for d in result["disagreements"]] == ["s1", "s5"]


def test_three_annotators_with_a_missing_label(tmp_path):
    c = list(A)
    files = [write(tmp_path / "a.jsonl", A), write(tmp_path / "b.jsonl", B)]
    third = tmp_path / "c.jsonl"
    third.write_text(
        "".join(
            json.dumps({"id": f"s{i}", "label": label}) + "\n"
            for i, label in enumerate(c)
            if i != 0
        )
    )
    result = agreement([read_labels(f) for f in [*files, third]], ["a", "b", "c"])
    assert len(result["pairs"]) == 3 and result["items"] == 10
    assert result["pairs"][1]["items"] == 9
    assert 0 < result["krippendorff_alpha"] < 1


def test_bad_labels_are_located(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"id": "x", "label": "maybe"}\n{"id": "x", "label": "none"}\n{"id": "x", "label": "none"}\n'
    )
    with pytest.raises(DataError) as info:
        read_labels(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:1: label: unknown label 'maybe' (expected one of accept, reject, conditional, none)",
        f"{path}:3: id: duplicate id 'x'",
    ]


def test_cli_prints_and_writes_disagreements(tmp_path):
    a, b = write(tmp_path / "a.jsonl", A), write(tmp_path / "b.jsonl", B)
    result = CliRunner().invoke(
        cli, ["agreement", str(a), str(b), "--disagreements", str(tmp_path / "d.jsonl")]
    )
    assert result.exit_code == 0, result.output
    assert "Cohen's kappa 0.730" in result.output and "alpha (nominal) 0.740" in result.output
    assert len((tmp_path / "d.jsonl").read_text().splitlines()) == 2


def test_all_same_labels_give_undefined_figures_not_nan_or_warnings(tmp_path, recwarn):
    a, b = write(tmp_path / "a.jsonl", ["none"] * 4), write(tmp_path / "b.jsonl", ["none"] * 4)
    result = agreement([read_labels(a), read_labels(b)], ["a", "b"])
    assert recwarn.list == []
    assert result["krippendorff_alpha"] is None
    assert result["pairs"][0]["cohen_kappa"] is None
    assert result["pairs"][0]["per_label"]["none"] == {"specific_agreement": 1.0, "kappa": None}
    cli_json = CliRunner().invoke(cli, ["agreement", str(a), str(b), "--json"])
    assert cli_json.exit_code == 0, cli_json.output

    def refuse(constant):
        raise AssertionError(f"{constant} is not valid JSON")

    assert json.loads(cli_json.output, parse_constant=refuse)["krippendorff_alpha"] is None
    text = CliRunner().invoke(cli, ["agreement", str(a), str(b)]).output
    assert "Krippendorff's alpha (nominal) undefined" in text
    assert "Cohen's kappa undefined" in text and "nan" not in text.lower()


def test_ids_in_only_one_file_are_reported(tmp_path):
    a = write(tmp_path / "a.jsonl", A)
    b = tmp_path / "b.jsonl"
    b.write_text(
        "".join(
            json.dumps({"id": key, "label": "none"}) + "\n" for key in ("s0", "s1", "extra", "x2")
        )
    )
    result = agreement([read_labels(a), read_labels(b)], ["a", "b"])
    assert result["items"] == 2
    assert result["only_in_one_file"] == {
        "a": ["s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"],
        "b": ["extra", "x2"],
    }
    out = CliRunner().invoke(cli, ["agreement", str(a), str(b)])
    assert out.exit_code == 0, out.output
    assert (
        "warning: 8 item(s) labelled only in a, left out of every figure: s2, s3, s4, s5, s6, "
        "s7, s8, s9" in out.output
    )
    assert "warning: 2 item(s) labelled only in b, left out of every figure: extra, x2" in (
        out.output
    )


def test_unicode_line_separators_inside_text_do_not_split_records(tmp_path):
    path = tmp_path / "a.jsonl"
    text = "first\u2028second\u2029third\u0085fourth\x1cfifth"
    path.write_text(
        json.dumps({"id": "s0", "text": text, "label": "none"}, ensure_ascii=False)
        + "\n"
        + json.dumps({"id": "s1", "label": "maybe"})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as info:
        read_labels(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:2: label: unknown label 'maybe' (expected one of accept, reject, conditional, none)"
    ]
    path.write_text(path.read_text(encoding="utf-8").replace("maybe", "none"), encoding="utf-8")
    assert read_labels(path)["s0"]["text"] == text


def test_lines_that_are_not_objects_are_located_without_a_traceback(tmp_path):
    a = write(tmp_path / "a.jsonl", A)
    b = tmp_path / "b.jsonl"
    b.write_text('[1, 2]\n"text"\n{"id": "s0", "label": "none"}\n')
    result = CliRunner().invoke(cli, ["agreement", str(a), str(b)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.output.splitlines()[-2:] == [
        f"{b}:1: json: expected a JSON object",
        f"{b}:2: json: expected a JSON object",
    ]
    latin = tmp_path / "c.csv"
    latin.write_bytes("id,label,text\ns0,none,caf\xe9\n".encode("latin-1"))
    result = CliRunner().invoke(cli, ["agreement", str(a), str(latin)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.startswith(f"error: {latin}:2: not UTF-8 (invalid byte 0xE9")
    assert result.output.rstrip().endswith("re-save the file as UTF-8")


def test_disagreements_never_overwrite_an_annotation_file_and_bad_places_are_named(tmp_path):
    a, b = write(tmp_path / "a.jsonl", A), write(tmp_path / "b.jsonl", B)
    before = a.read_bytes()
    result = CliRunner().invoke(cli, ["agreement", str(a), str(b), "--disagreements", str(a)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr == (
        f"error: {a}: this output would overwrite an input file; choose an --disagreements "
        "that is not among the inputs\n"
    )
    assert a.read_bytes() == before
    under_a_file = a / "d.jsonl"
    result = CliRunner().invoke(
        cli, ["agreement", str(a), str(b), "--disagreements", str(under_a_file)]
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(f"error: {under_a_file}: cannot write the output here: ")
