"""Holder attribution from the actor dictionary and speech patterns."""

from __future__ import annotations

import pytest
from conftest import REPO

from pipeline.actors import (
    UNKNOWN,
    ActorDictionary,
    attribute_holder,
    attribute_target,
    holder_accuracy,
)
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
    # The holder is found; the statement names no other party, so its target is missed.
    assert result.output.splitlines()[:3] == [
        "dictionary rules",
        "               holder                  target",
        "overall            1 / 1     = 1.000       0 / 1     = 0.000",
    ]


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


def test_actor_codes_come_from_the_entry_or_from_a_country_name(tmp_path):
    """The list form and the {code, aliases} form mix; `code: null` overrides a country name."""
    path = tmp_path / "actors.yaml"
    path.write_text(
        "Pakistan: [Islamabad]\n"
        "Afghan Government: {code: AFG, aliases: [Kabul]}\n"
        "Georgia: {code: null, aliases: [Atlanta]}\n"
        "Hamas: [Haniyeh]\n",
        encoding="utf-8",
    )
    actors = ActorDictionary.from_yaml(path)
    assert {name: actors.code(name) for name in actors.aliases} == {
        "Pakistan": "PAK",
        "Afghan Government": "AFG",
        "Georgia": None,
        "Hamas": None,
    }
    assert [m.actor for m in actors.mentions("Kabul and Islamabad")] == [
        "Afghan Government",
        "Pakistan",
    ]
    assert actors.code("North Korea") == "PRK" and actors.code(UNKNOWN) is None


def test_shipped_dictionary_codes_states_and_leaves_armed_groups_without(tmp_path):
    actors = ActorDictionary.from_yaml(REPO / "configs/actors.yaml")
    states = {"United States": "USA", "Russia": "RUS", "Iran": "IRN", "Afghan Government": "AFG"}
    assert {name: actors.code(name) for name in states} == states
    for group in ("Taliban", "Hamas", "Syrian Opposition", "Libyan National Army", "NATO"):
        assert actors.code(group) is None, group


def test_bad_actor_code_or_key_is_named_with_its_line(tmp_path):
    path = tmp_path / "actors.yaml"
    path.write_text("Pakistan: [Islamabad]\nAfghan Government: {code: afg, aliases: [Kabul]}\n")
    with pytest.raises(ConfigError) as error:
        ActorDictionary.from_yaml(path)
    assert str(error.value) == (
        f"{path}:2: Afghan Government: code 'afg' is not an actor code; write three capital "
        "letters (an ISO 3166 alpha-3 code such as AFG, or IGO, NGO, ISM, IMG, MNC), or "
        "`code: null` for none"
    )
    path.write_text("Hamas: {aliases: [Haniyeh], sector: REB}\n")
    with pytest.raises(ConfigError, match=r"actors.yaml:1: Hamas: unknown key\(s\) sector; "):
        ActorDictionary.from_yaml(path)


TARGET_ACTORS = ActorDictionary(
    {
        **ACTORS.aliases,
        "Qatar": ["Qatar", "Doha"],
        "North Korea": ["North Korea", "Pyongyang"],
        "South Korea": ["South Korea", "Seoul"],
    }
)


@pytest.mark.parametrize(
    "text, holder, target",
    [
        ("The Taliban will not join talks with Washington, Mujahid said.", "Taliban", "United States"),
        ("Ghani said he was ready to negotiate with the Taliban.", "Afghan Government", "Taliban"),
        ("Mujahid said the movement had no plans to meet Ghani.", "Taliban", "Afghan Government"),
        ("The Taliban rejected Kabul's offer of a ceasefire.", "Taliban", "Afghan Government"),
        ("Kabul welcomed the invitation from Islamabad.", "Afghan Government", "Pakistan"),
        ("Washington made an offer to the Taliban on Monday.", "United States", "Taliban"),
        ("Ghani would sit down with the Taliban in Doha, he said.", "Afghan Government", "Taliban"),
        # "talks with" outranks the host of the talks ("an invitation from Qatar").
        ("The Taliban accepted an invitation from Qatar to hold talks with the US.", "Taliban",
         "United States"),
        ("Talks with the Taliban are pointless, Ghani told reporters.", "Afghan Government",
         "Taliban"),
        # Without a cue, the other party named most often; a place of talks only last.
        ("In Doha, Ghani said Pakistan had to act; Pakistan did not answer.", "Afghan Government",
         "Pakistan"),
    ],
)  # fmt: skip
def test_target_patterns(text, holder, target):
    assert attribute_target(text, TARGET_ACTORS, holder) == target


@pytest.mark.parametrize(
    "text, holder, context",
    [
        ("The Taliban said talks with the Taliban leadership were over.", "Taliban", []),
        ("Mujahid refused to meet anyone.", "Taliban", ["Mujahid spoke in Kandahar."]),
        ("They refused to meet anyone.", UNKNOWN, ["Rain fell."]),
    ],
)
def test_holder_is_never_its_own_target_and_no_party_gives_none(text, holder, context):
    assert attribute_target(text, TARGET_ACTORS, holder, context) == ""


def test_target_named_only_by_reference_comes_from_the_context():
    context = ["Pyongyang offered talks on Friday.", "The offer surprised diplomats."]
    text = "We carefully considered their proposal, Washington told Seoul."
    # "their proposal" is North Korea's, not that of Seoul, the other party the passage names.
    assert attribute_target(text, TARGET_ACTORS, "United States", context) == "North Korea"
    assert attribute_target(text, TARGET_ACTORS, "United States") == "South Korea"


def test_passage_naming_no_other_party_takes_the_nearest_one_from_its_context():
    context = ["Ghani met the envoys in Kabul.", "Mujahid answered from Doha."]
    text = "They are ready to talk, he said."
    assert attribute_target(text, TARGET_ACTORS, "Afghan Government", context) == "Taliban"
    assert attribute_target(text, TARGET_ACTORS, "Taliban", context) == "Afghan Government"
    assert attribute_target(text, TARGET_ACTORS, "Taliban") == ""


def test_holder_accuracy_also_measures_targets_where_annotated():
    def st(i, text, holder, target):
        return Statement(
            id=str(i),
            text=text,
            label="reject",
            holder=holder,
            target=target,
            doc_id=f"d{i}",
            source="authored",
            annotator="t",
        )

    result = holder_accuracy(
        [
            st(1, "Ghani refused talks with the Taliban.", "Afghan Government", "Taliban"),
            st(2, "Mujahid rejected talks with Islamabad.", "Taliban", "United States"),
            st(3, "Mujahid rejected the talks.", "Taliban", ""),  # no gold target: not counted
        ],
        ACTORS,
    )
    assert result["overall"]["n"] == 3
    assert result["targets"]["overall"] == {"n": 2, "correct": 1, "accuracy": 0.5}
    assert result["targets"]["by_source"] == {"authored": {"n": 2, "correct": 1, "accuracy": 0.5}}
    assert result["targets"]["errors"][0]["target"] == "United States"
    assert result["targets"]["errors"][0]["predicted"] == "Pakistan"
