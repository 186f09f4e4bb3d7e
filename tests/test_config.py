"""Configs: strict schema, dotted-key errors, overrides only for keys that exist."""

from __future__ import annotations

import pytest
import yaml
from conftest import REPO

from pipeline.config import Config, apply_overrides, dump_config, load_config, parse_override
from pipeline.errors import ConfigError


def write(tmp_path, data) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_shipped_configs_load():
    default = load_config(REPO / "configs/default.yaml")
    ci = load_config(REPO / "configs/ci.yaml")
    quick = load_config(REPO / "configs/quick.yaml")
    assert ci.run_name == "ci"
    assert quick.model == default.model and quick.data == default.data
    assert quick.decision == default.decision
    # ci.yaml states only what differs from its base: the run name and the gate floors.
    ci_data, default_data = ci.model_dump(), quick.model_dump()
    for data in (ci_data, default_data):
        data.pop("run_name")
        for key in ("macro_f1_floor", "article_precision_floor", "article_f1_floor"):
            data["evaluate"].pop(key)
    assert ci_data == default_data


def test_schema_defaults_are_the_documented_defaults():
    """configs/default.yaml is the one place defaults are shown; the schema must agree."""
    assert load_config(REPO / "configs/default.yaml").model_dump() == Config().model_dump()


def test_base_config_is_merged_under_the_file(tmp_path):
    (tmp_path / "base.yaml").write_text("seed: 5\ntrain:\n  epochs: 3\n  batch_size: 8\n")
    (tmp_path / "child.yaml").write_text("base: base.yaml\ntrain:\n  epochs: 2\n")
    config = load_config(tmp_path / "child.yaml")
    assert (config.seed, config.train.epochs, config.train.batch_size) == (5, 2, 8)
    (tmp_path / "base.yaml").write_text("base: child.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "child.yaml")


def test_unknown_key_is_named_with_its_dotted_path(tmp_path):
    path = write(tmp_path, {"train": {"epoch": 3}})
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: train.epoch: unknown key"


def test_wrong_type_is_named(tmp_path):
    path = write(tmp_path, {"train": {"epochs": "many"}, "data": {"split": "random"}})
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).splitlines() == [
        f"{path}: data.split: Input should be 'group' or 'chronological'",
        f"{path}: train.epochs: Input should be a valid integer, unable to parse string as an integer",
    ]


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_config_not_utf8_or_a_folder_is_named(tmp_path):
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("seed: 13\n# Café\nrun_name: x\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(latin1)
    assert (
        str(info.value) == f"{latin1}:2: not UTF-8 text (byte 0xe9); save the config file as UTF-8"
    )
    with pytest.raises(ConfigError, match="is a folder; give the path of the config file"):
        load_config(tmp_path)


def test_overrides_set_existing_keys_with_yaml_values(tmp_path):
    config = load_config(
        write(tmp_path, {}),
        dict([parse_override("train.epochs=3"), parse_override("data.paths=[a.jsonl]")]),
    )
    assert config.train.epochs == 3
    assert config.data.paths == ["a.jsonl"]


def test_override_of_unknown_key_is_refused():
    with pytest.raises(ConfigError) as info:
        apply_overrides({}, {"train.epoch": 3})
    assert str(info.value).startswith(
        "override train.epoch: unknown key (known keys: data.dev_fraction"
    )


def test_override_needs_key_equals_value():
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_override("train.epochs")


def test_override_with_wrong_type_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.learning_rate: Input should be greater than 0"):
        load_config(write(tmp_path, {}), {"train.learning_rate": -1})


def test_resolved_config_round_trips(tmp_path):
    config = Config().model_copy(update={"seed": 99})
    dump_config(config, tmp_path / "out.yaml")
    assert load_config(tmp_path / "out.yaml") == config
