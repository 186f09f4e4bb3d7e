"""Holder attribution from the actor dictionary and speech patterns."""

from __future__ import annotations

import pytest
from conftest import REPO

from pipeline.actors import UNKNOWN, ActorDictionary, attribute_holder, holder_accuracy
from pipeline.annotations import Statement
from pipeline.errors import ConfigError

ACTORS = ActorDictionary(
    {
        "United States": ["US", "U.S.", "Washington", "White House", "Ari Fleischer"],
        "Taliban": ["Islamic Emirate", "Zabihullah Mujahid", "Mujahid"],
        "Afghan Government": ["Kabul", "Afghan government", "Ghani"],
        "Pakistan": ["Pakistan", "Islamabad"],
    }
)


@pytest.mark.parametrize(
    "text, holder",
    [
        (
            '"It\'s time for action, not negotiations," said White House spokesman Ari Fleischer.',
            "United States",
        ),
        ("The Taliban will not join talks with Washington, Zabihullah Mujahid said.", "Taliban"),
        ("Talks with the Taliban are pointless, Ghani told reporters.", "Afghan Government"),
        ("According to Islamabad, the movement is ready to negotiate with Kabul.", "Pakistan"),
        ("Washington urged the Taliban to engage the Afghan government.", "United States"),
        ("The Islamic Emirate's spokesman rejected talks with the US.", "Taliban"),
        ("They refused to meet anyone.", UNKNOWN),
    ],
)
def test_attribution(text, holder):
    assert attribute_holder(text, ACTORS) == holder


def test_acronyms_are_case_sensitive_and_longest_alias_wins():
    assert [m.actor for m in ACTORS.mentions("Let us talk, said the US.")] == ["United States"]
    assert [m.actor for m in ACTORS.mentions("The Afghan government spoke.")] == [
        "Afghan Government"
    ]


def test_pronoun_falls_back_to_the_nearest_earlier_mention():
    context = ["Ghani spoke in Kabul on Monday.", "Mujahid answered from Doha."]
    assert attribute_holder("He said they would never talk.", ACTORS, context) == "Taliban"


def test_actor_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="actor dictionary not found"):
        ActorDictionary.from_yaml(tmp_path / "none.yaml")
    bad = tmp_path / "a.yaml"
    bad.write_text("Taliban: Islamic Emirate\n")
    with pytest.raises(ConfigError, match="Taliban: aliases must be a list of strings"):
        ActorDictionary.from_yaml(bad)


def test_actor_file_with_a_number_as_name_or_not_utf8_is_named_with_its_line(tmp_path):
    numbered = tmp_path / "numbered.yaml"
    numbered.write_text("Taliban: [Islamic Emirate]\n1990: [Gulf coalition]\n")
    with pytest.raises(ConfigError) as info:
        ActorDictionary.from_yaml(numbered)
    assert str(info.value) == (
        f'{numbered}:2: 1990: an actor name must be text, not int; quote it (e.g. "1990": [...])'
    )
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("Taliban: [Talib]\nCôte d'Ivoire: [Abidjan]\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        ActorDictionary.from_yaml(latin1)
    assert str(info.value) == (
        f"{latin1}:2: not UTF-8 text (byte 0xf4); save the actor dictionary as UTF-8"
    )


def test_actor_file_with_an_empty_name_is_named_with_its_line(tmp_path):
    blank = tmp_path / "blank.yaml"
    blank.write_text('Taliban: [Islamic Emirate]\n"  ": [Kabul]\n')
    with pytest.raises(ConfigError) as info:
        ActorDictionary.from_yaml(blank)
    assert str(info.value) == (
        f"{blank}:2: '  ': an actor name must not be empty; write the canonical name used in "
        "the `holder` field"
    )


def test_holders_command_uses_the_model_dictionary_from_any_folder(
    trained_toy_model, tmp_path, monkeypatch
):
    from click.testing import CliRunner
    from conftest import write_jsonl

    from pipeline.cli import cli

    statements = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {
                "id": "h1",
                "text": "Hamas said it was ready for talks.",
                "label": "accept",
                "holder": "Hamas",
                "target": "Israel",
                "condition": "",
                "doc_id": "d1",
                "source": "authored",
                "date": "2024-01-01",
                "char_start": None,
                "char_end": None,
                "conflict": "Israel-Palestine",
                "annotator": "t",
                "note": "",
            }
        ],
    )
    monkeypatch.chdir(tmp_path)  # no configs/actors.yaml here
    missing = CliRunner().invoke(cli, ["holders", str(statements)])
    assert missing.exit_code == 1
    assert "pass --actors FILE" in missing.stderr
    model = str(trained_toy_model.model_dir)
    result = CliRunner().invoke(cli, ["holders", str(statements), "--model", model])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("overall            1 / 1     = 1.000")


def test_holder_accuracy_counts_stance_statements_only():
    def st(i, text, label, holder):
        return Statement(
            id=str(i),
            text=text,
            label=label,
            holder=holder,
            doc_id="d",
            source="authored",
            annotator="t",
            condition="c" if label == "conditional" else "",
        )

    result = holder_accuracy(
        [
            st(1, "Ghani offered talks.", "accept", "Afghan Government"),
            st(2, "Mujahid rejected talks.", "reject", "Taliban"),
            st(3, "Islamabad refused talks.", "reject", "Taliban"),
            st(4, "Rain fell.", "none", ""),
        ],
        ACTORS,
    )
    assert result["overall"] == {"n": 3, "correct": 2, "accuracy": 0.6667}
    assert result["errors"][0]["predicted"] == "Pakistan"


def test_shipped_actor_dictionary_loads():
    actors = ActorDictionary.from_yaml(REPO / "configs/actors.yaml")
    assert {"Taliban", "United States", "Hamas", "Russia"} <= set(actors.aliases)
