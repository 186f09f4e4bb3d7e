"""The `stance` command: exit codes and the text users see."""

from __future__ import annotations

from click.testing import CliRunner

from pipeline.cli import cli


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_validate_clean_file_exits_0(jsonl, make_statement):
    path = jsonl("a.jsonl", [make_statement()])
    result = run("validate", str(path))
    assert result.exit_code == 0
    assert result.output == "ok: 1 statements, no problems\n"


def test_validate_planted_errors_exits_1_naming_each_line(tmp_path, jsonl, make_statement):
    path = jsonl(
        "bad.jsonl",
        [
            make_statement(id="a"),
            "{not json",
            make_statement(id="a", text="Different words entirely here."),
            make_statement(id="c", label="maybe"),
            make_statement(id="d", text=""),
        ],
    )
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:2: json: invalid JSON: Expecting property name enclosed in double quotes",
        f"{path}:3: id: duplicate id 'a' (first at {path}:1)",
        f"{path}:4: label: unknown label 'maybe' (expected one of accept, reject, conditional, none)",
        f"{path}:5: text: empty text",
    ]
    assert "4 problem(s) in 2 valid record(s)" in result.stderr


def test_validate_missing_path_exits_1(tmp_path):
    result = run("validate", str(tmp_path / "missing.jsonl"))
    assert result.exit_code == 1
    assert result.stderr == f"error: {tmp_path / 'missing.jsonl'}: no such file or folder\n"


def test_usage_errors_exit_2():
    assert run("validate").exit_code == 2
    assert run("no-such-command").exit_code == 2


def test_stats_prints_counts_per_label_source_conflict_and_holder(jsonl, make_statement):
    path = jsonl(
        "a.jsonl",
        [
            make_statement(id="a"),
            make_statement(id="b", text="Talks are a waste of time.", label="reject", holder="ELN"),
            make_statement(id="c", text="Rain fell.", label="none", holder="", conflict="Yemen"),
        ],
    )
    result = run("stats", str(path), "--json")
    assert result.exit_code == 0
    import json

    counts = json.loads(result.output)
    assert counts["label"] == {
        "accept": {"accept": 1},
        "none": {"none": 1},
        "reject": {"reject": 1},
    }
    assert counts["conflict"]["Colombia"] == {"accept": 1, "reject": 1}
    assert counts["holder"]["(empty)"] == {"none": 1}
    assert counts["source"] == {"authored": {"accept": 1, "reject": 1, "none": 1}}
    table = run("stats", str(path)).output
    assert table.startswith("3 statements\n")
    assert "Colombia" in table and "holder" in table


def test_stats_refuses_invalid_data(jsonl, make_statement):
    path = jsonl("a.jsonl", [make_statement(label="x")])
    result = run("stats", str(path))
    assert result.exit_code == 1
    assert "unknown label 'x'" in result.stderr


def test_python_dash_m_runs_the_cli():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "validate" in done.stdout
