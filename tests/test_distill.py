"""`stance distill`: the teacher's cached soft labels, the soft-target seam of the training loop,
the student's record of its teacher, and the command's errors."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import TOY_ACTORS, TOY_PHRASES, toy_run_config, write_jsonl

from pipeline import StanceClassifier
from pipeline.cli import cli
from pipeline.config import dump_config
from pipeline.onnx_backend import ONNX_DIR
from pipeline.provenance import hash_folder

GOOD = [
    {
        "id": "a1",
        "title": "Talks",
        "text": "The rebels refused any talks with the army. The council opened a new hospital "
        "for the league.",
        "language": "en",
    },
    {
        "id": "a3",
        "text": "The envoy urged dialogue with the front. The union will talk only if troops "
        "leave, said of the cabinet.",
        "language": "en",
    },
]


def unlabelled_file(tmp_path, records=None):
    """Two good articles (four passages) around a broken line and a record without text."""
    records = records or [GOOD[0], '{"id": "broken", "text": ', {"id": "a2"}, GOOD[1]]
    return write_jsonl(tmp_path / "news" / "news.jsonl", records)


def gold_articles(tmp_path):
    """A gold-articles folder of one article: a reject and a no-stance sentence."""
    text = "The rebels refused any talks with the army. The council opened a new hospital."
    first = text.index(". ") + 1
    folder = tmp_path / "gold"
    write_jsonl(folder / "articles.jsonl", [{"id": "g1", "text": text, "group": "talks"}])
    write_jsonl(
        folder / "sentences.jsonl",
        [
            {"article_id": "g1", "start": 0, "end": first, "label": "reject", "holder": "FARC"},
            {"article_id": "g1", "start": first + 1, "end": len(text), "label": "none"},
        ],
    )
    return folder


def student_config(tiny_base_model, toy_annotations, **train_overrides):
    """The toy config with the PyTorch backend, so the shared teacher folder gets no ONNX
    export."""
    config = toy_run_config(tiny_base_model, toy_annotations, **train_overrides)
    return config.model_copy(
        update={"predict": config.predict.model_copy(update={"backend": "torch"})}
    )


def soft_labels(teacher_dir, inputs, config, cache_path):
    """The teacher's soft labels for `inputs`, through the cache, as `distill` gets them."""
    from pipeline.actors import load_actor_dictionary
    from pipeline.inputs import resolve_inputs
    from pipeline.teacher_labels import cache_key, soft_labels_for

    teacher = StanceClassifier.load(teacher_dir, device="cpu", backend="torch")
    files = resolve_inputs(inputs, [cache_path])
    key = cache_key(hash_folder(teacher_dir, exclude=(ONNX_DIR,)), files, config.predict, None)
    actors = load_actor_dictionary(None, teacher_dir)
    return soft_labels_for(teacher, key, inputs, config, actors, cache_path, progress=False)


def test_soft_labels_are_reused_on_a_rerun_with_the_same_inputs(
    trained_toy_model, tiny_base_model, toy_annotations, tmp_path, monkeypatch
):
    config = student_config(tiny_base_model, toy_annotations)
    inputs, cache = [str(unlabelled_file(tmp_path))], tmp_path / "run" / "teacher_labels.parquet"
    first = soft_labels(trained_toy_model.model_dir, inputs, config, cache)
    assert first.cache == "built" and cache.is_file()
    assert [p.text for p in first.passages][:2] == [
        "The rebels refused any talks with the army.",
        "The council opened a new hospital for the league.",
    ]
    np.testing.assert_allclose(first.probabilities.sum(axis=1), 1.0, atol=1e-5)

    def must_not_score(*args, **kwargs):
        raise AssertionError("the teacher scored again although the inputs did not change")

    monkeypatch.setattr("pipeline.teacher_labels.score_unlabelled", must_not_score)
    second = soft_labels(trained_toy_model.model_dir, inputs, config, cache)
    assert second.cache == "reused"
    assert second.passages == first.passages
    np.testing.assert_array_equal(second.probabilities, first.probabilities)
    assert second.problems == first.problems and second.documents == 2


def test_a_changed_input_rebuilds_the_cache_instead_of_mixing_in_old_labels(
    trained_toy_model, tiny_base_model, toy_annotations, tmp_path
):
    config = student_config(tiny_base_model, toy_annotations)
    path = unlabelled_file(tmp_path)
    cache = tmp_path / "run" / "teacher_labels.parquet"
    soft_labels(trained_toy_model.model_dir, [str(path)], config, cache)
    changed = {**GOOD[1], "text": "The militia ruled out negotiations with the party."}
    unlabelled_file(tmp_path, [GOOD[0], changed])
    rebuilt = soft_labels(trained_toy_model.model_dir, [str(path)], config, cache)
    assert rebuilt.cache == f"rebuilt (input files changed: {path.resolve()})"
    assert [p.text for p in rebuilt.passages] == [
        "The rebels refused any talks with the army.",
        "The council opened a new hospital for the league.",
        "The militia ruled out negotiations with the party.",
    ]
    assert rebuilt.problems == []


def test_soft_targets_move_the_student_toward_the_teacher(
    trained_toy_model, tiny_base_model, toy_annotations, tmp_path
):
    """The student's labelled data holds only half of the toy wordings; the teacher (trained on
    all of them) labels passages written with the other half. Without the teacher the student
    guesses on those wordings; with its soft labels it agrees with the teacher."""
    from pipeline.training import SoftTargets, train

    records = [json.loads(line) for line in toy_annotations.read_text().splitlines()]
    half = write_jsonl(
        tmp_path / "half.jsonl", [r for r in records if int(r["doc_id"][-2:]) % 2 == 1]
    )
    texts = [
        f"{TOY_ACTORS[(i * 5 + j) % 14].capitalize()} {phrase} {TOY_ACTORS[(i * 3 + j + 1) % 14]}."
        for i, phrases in enumerate(TOY_PHRASES.values())
        for phrase in phrases[2:]
        for j in range(6)
    ]
    teacher = trained_toy_model.classifier.predict_proba(texts)
    config = toy_run_config(tiny_base_model, half, epochs=40)

    def agreement(soft_targets):
        result = train(config, tmp_path / str(bool(soft_targets)), False, None, soft_targets)
        student = result.classifier.predict_proba(texts)
        return float(np.mean(student.argmax(axis=1) == teacher.argmax(axis=1)))

    without = agreement(None)
    with_teacher = agreement(SoftTargets(texts, None, teacher, temperature=1.0, weight=1.0))
    assert without <= 0.5
    assert with_teacher >= 0.8


def test_distill_records_the_teacher_inputs_and_settings_in_the_student_folder(
    trained_toy_model, tiny_base_model, toy_annotations, tmp_path
):
    from pipeline.distillation import distill
    from pipeline.evaluation import evaluate_model_on_articles

    teacher_dir = trained_toy_model.model_dir
    path = unlabelled_file(tmp_path)
    config = student_config(tiny_base_model, toy_annotations, epochs=2)
    gold = gold_articles(tmp_path)
    result = distill(
        config, teacher_dir, [str(path)], output_dir=tmp_path / "run", articles=gold, progress=False
    )

    meta = json.loads((result.model_dir / "meta.json").read_text())
    record = meta["distillation"]
    assert record["teacher"]["folder"] == str(teacher_dir)
    assert record["teacher"]["sha256"] == hash_folder(teacher_dir, exclude=(ONNX_DIR,))
    assert record["unlabelled"]["files"] == [
        {"path": str(path.resolve()), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    ]
    assert (record["unlabelled"]["documents"], record["unlabelled"]["passages"]) == (2, 4)
    assert record["unlabelled"]["skipped_inputs"] == 2
    assert (record["soft_passages"], record["temperature"], record["weight"]) == (4, 2.0, 1.0)
    assert record["cache"]["status"] == "built"
    assert meta["config"]["distill"] == {"temperature": 2.0, "weight": 1.0, "max_passages": None}
    assert "Distilled from the teacher model" in (result.model_dir / "README.md").read_text()
    # Loads and scores like any model folder.
    StanceClassifier.load(result.model_dir, device="cpu", backend="torch").predict(["Talks."])

    assert [row["model"] for row in result.table] == ["teacher", "student"]
    for row in result.table:
        assert 0 <= row["test_macro_f1"] <= 1 and row["passages_per_second"] > 0
        assert row["test_n"] == result.table[0]["test_n"]  # the same test split
    # The article columns are what `stance evaluate --model TEACHER --articles GOLD` reports.
    evaluated = evaluate_model_on_articles(teacher_dir, gold)["articles"]["models"]["finetuned"]
    assert evaluated["all"]["n_gold_stance"] == 1 and result.table[1]["article_recall"] is not None
    assert [result.table[0][f"article_{k}"] for k in ("precision", "recall", "f1")] == [
        evaluated["all"][f"stance_{k}"] for k in ("precision", "recall", "f1")
    ]
    report = json.loads((tmp_path / "run" / "distill.json").read_text())
    assert report["table"] == result.table


def test_distill_command_reports_a_bad_record_skips_it_and_prints_the_table(
    trained_toy_model, tiny_base_model, toy_annotations, tmp_path
):
    config_path = tmp_path / "student.yaml"
    dump_config(student_config(tiny_base_model, toy_annotations, epochs=2), config_path)
    path = unlabelled_file(tmp_path)
    more = write_jsonl(tmp_path / "more" / "more.jsonl", [{**GOOD[0], "id": "b1"}])
    result = CliRunner().invoke(
        cli,
        [
            "distill",
            "--teacher",
            str(trained_toy_model.model_dir),
            "--unlabelled",
            str(path),
            str(more),
            "--config",
            str(config_path),
            "--out",
            str(tmp_path / "run"),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[:2] == [
        f"skipped {path}:2: invalid JSON: Expecting value",
        f"skipped {path}:3: field 'text' is missing",
    ]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("teacher probabilities: 6 passages of 3 articles, 2 skipped inputs")
    assert lines[1] == f"student: {tmp_path / 'run' / 'model-best'}"
    assert lines[2].split()[:3] == ["model", "base", "model"]
    assert [line.split()[0] for line in lines[3:5]] == ["teacher", "student"]
    assert "(no --articles)" in lines[3]


def test_distill_help_names_the_command_line():
    result = CliRunner().invoke(cli, ["distill", "--help"])
    assert result.exit_code == 0
    for option in ("--teacher", "--unlabelled INPUT", "--config", "--out", "--articles", "--set"):
        assert option in result.output
    assert "configs/minilm.yaml" in result.output


@pytest.mark.parametrize("missing", ["--teacher", "--unlabelled"])
def test_distill_without_a_required_option_is_a_usage_error(missing, tmp_path):
    args = {"--teacher": str(tmp_path), "--unlabelled": str(tmp_path)}
    del args[missing]
    result = CliRunner().invoke(cli, ["distill", *[x for kv in args.items() for x in kv]])
    assert result.exit_code == 2
    assert f"Missing option '{missing}'" in result.stderr


def test_a_missing_teacher_folder_is_a_clear_error(tmp_path):
    missing = tmp_path / "models" / "default" / "model-best"
    result = CliRunner().invoke(
        cli, ["distill", "--teacher", str(missing), "--unlabelled", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {missing}: teacher model folder not found; give --teacher the model-best "
        "folder of a trained model, e.g. models/default/model-best (`stance train` writes it)\n"
    )


def test_an_incomplete_teacher_folder_names_what_is_missing(tmp_path):
    folder = tmp_path / "model-best"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    result = CliRunner().invoke(
        cli, ["distill", "--teacher", str(folder), "--unlabelled", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "not a complete model folder, missing model.safetensors" in result.stderr


def distill_command(teacher, out, inputs, config_path):
    """`stance distill` with the given teacher, --out, inputs and config, without progress."""
    args = ["distill", "--teacher", str(teacher), "--unlabelled", *map(str, inputs)]
    return CliRunner().invoke(
        cli, [*args, "--config", str(config_path), "--out", str(out), "--quiet"]
    )


@pytest.mark.parametrize(
    ("out", "what"),
    [
        ("run", "replace the teacher model folder"),  # the teacher is run/model-best
        ("run/model-best/student", "write inside the teacher model folder"),
    ],
)
def test_an_out_that_would_overwrite_the_teacher_is_refused(fake_model_folder, tmp_path, out, what):
    import shutil

    from pipeline.config import Config

    teacher = tmp_path / "run" / "model-best"
    shutil.copytree(fake_model_folder, teacher)
    before = hash_folder(teacher)
    dump_config(Config(), tmp_path / "student.yaml")
    news = unlabelled_file(tmp_path)
    result = distill_command(teacher, tmp_path / out, [news], tmp_path / "student.yaml")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {tmp_path / out}: --out would {what} {teacher} (the student is written to "
        f"{tmp_path / out / 'model-best'}); choose an --out outside the teacher's folder, e.g. "
        "models/<run_name>-distilled\n"
    )
    assert hash_folder(teacher) == before


def test_an_unwritable_out_is_refused_before_the_teacher_is_loaded(fake_model_folder, tmp_path):
    """The fake teacher cannot load without the fake classifier: the refusal comes first."""
    from pipeline.config import Config

    dump_config(Config(), tmp_path / "student.yaml")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    out = blocker / "run"
    news = unlabelled_file(tmp_path)
    result = distill_command(fake_model_folder, out, [news], tmp_path / "student.yaml")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {out / 'teacher_labels.parquet'}: cannot write the output here: Not a "
        f"directory ({out}); choose a writable folder (one that is not a file and that you may "
        "write to)\n"
    )


def test_a_teacher_with_another_label_set_is_refused_naming_its_meta(
    trained_toy_model, tiny_base_model, toy_annotations, tmp_path
):
    import shutil

    from pipeline.distillation import distill
    from pipeline.errors import ModelFolderError

    teacher = tmp_path / "teacher"
    shutil.copytree(trained_toy_model.model_dir, teacher)
    other = ["accept", "reject", "maybe", "none"]
    for name, update in (
        ("meta.json", {"labels": other}),
        (
            "config.json",
            {"id2label": dict(enumerate(other)), "label2id": {x: i for i, x in enumerate(other)}},
        ),
    ):
        record = json.loads((teacher / name).read_text())
        (teacher / name).write_text(json.dumps({**record, **update}))
    config = student_config(tiny_base_model, toy_annotations)
    with pytest.raises(ModelFolderError) as error:
        distill(config, teacher, [str(unlabelled_file(tmp_path))], tmp_path / "run", progress=False)
    assert str(error.value) == (
        f"{teacher / 'meta.json'}: labels: the teacher's labels {other} are not the student's "
        "['accept', 'reject', 'conditional', 'none']; give --teacher a model trained on this "
        "label set"
    )
    assert not (tmp_path / "run" / "teacher_labels.parquet").exists()


def test_no_passages_to_distil_names_every_skipped_input(
    trained_toy_model, tiny_base_model, toy_annotations, tmp_path
):
    """The command prints skipped inputs only after a run that completes, so the error that
    ends the run lists them itself."""
    config_path = tmp_path / "student.yaml"
    dump_config(student_config(tiny_base_model, toy_annotations), config_path)
    empty = tmp_path / "news" / "empty.jsonl"
    empty.parent.mkdir()
    empty.write_text("")
    broken = write_jsonl(tmp_path / "news" / "broken.jsonl", ['{"id": "x", "text": '])
    result = distill_command(
        trained_toy_model.model_dir, tmp_path / "run", [empty, broken], config_path
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: no passages to distil from in {empty}, {broken}: 2 input(s) skipped; give "
        "articles in a format predict reads",
        f"skipped {empty}: no records (empty file)",
        f"skipped {broken}:1: invalid JSON: Expecting value",
    ]


@pytest.mark.parametrize("key", ["distill.temperature", "distill.weight"])
def test_an_infinite_temperature_or_weight_is_a_config_error(key):
    """An infinite temperature makes the soft-target loss NaN, which trains a broken student."""
    from conftest import REPO

    from pipeline.config import load_config
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"{key}: Input should be a finite number"):
        load_config(REPO / "configs" / "default.yaml", {key: "inf"})


def test_a_student_party_extractor_without_its_base_model_is_refused_before_the_teacher_loads(
    fake_model_folder, tiny_base_model, toy_annotations, tmp_path
):
    """The fake teacher cannot load without the fake classifier: the refusal comes first."""
    from pipeline.distillation import distill
    from pipeline.errors import ConfigError

    config = student_config(tiny_base_model, toy_annotations)
    parties = config.parties.model_copy(update={"enabled": True, "base_model": "no-such-base"})
    config = config.model_copy(update={"parties": parties})
    news = [str(unlabelled_file(tmp_path))]
    with pytest.raises(ConfigError, match=r"^parties.base_model: base model 'no-such-base' "):
        distill(config, fake_model_folder, news, tmp_path / "run", progress=False)
