"""Holder and target from the party extractor's spans: canonical names, references, fallbacks.

The statements are written by the team for these tests, one per failure kind of issue 15. The
extractor itself is replaced by fixed spans (`spans_at`): what is tested here is what the
product does with a span, which a trained extractor's quality does not change.
"""

from __future__ import annotations

import pytest

from pipeline.actors import ActorDictionary
from pipeline.parties import (
    attribute_parties,
    attribute_stance_rows,
    canonical_party,
    content_words,
)
from pipeline.party_model import FoundSpan, encode
from pipeline.party_spans import CONTEXT, PASSAGE, PartyExample, Span, statement_examples


@pytest.fixture(scope="module")
def actors():
    return ActorDictionary.from_yaml("configs/actors.yaml")


def spans_at(text: str, holder: str | None, target: str | None = None, score: float = 0.9):
    """Found spans over the first occurrence of `holder` / `target` in `text`."""

    def span(words):
        if words is None:
            return None
        start = text.index(words)
        return FoundSpan(PASSAGE, start, start + len(words), score)

    return span(holder), span(target)


def test_a_party_outside_the_dictionary_is_not_the_place_it_meets_in(actors):
    # The rules take the first actor named (the city the council meets in) for the holder.
    text = (
        "A council of exiled opposition leaders meeting in Riyadh said on Sunday its "
        "negotiators would stay away from Geneva."
    )
    context = ["The Syrian opposition has threatened to boycott the talks."]
    parties = attribute_parties(
        text, context, actors, spans_at(text, "A council of exiled opposition leaders")
    )
    assert parties.holder == "Syrian Opposition"  # "opposition", named in the context
    assert parties.holder_text == "A council of exiled opposition leaders"


def test_a_name_the_dictionary_cannot_resolve_is_kept_as_text_not_guessed(actors):
    text = "Minister Okonjo-Vale said her cabinet would never sit down with the Taliban."
    parties = attribute_parties(
        text, [], actors, spans_at(text, "Minister Okonjo-Vale", "the Taliban")
    )
    assert (parties.holder, parties.holder_text) == ("", "Minister Okonjo-Vale")
    assert parties.target == "Taliban"


def test_the_speaker_of_a_quote_wins_over_the_first_party_named(actors):
    text = (
        'Speaking to a British broadcaster in London, Mr Abbas said: "We are ready to '
        'negotiate with Israel tomorrow."'
    )
    parties = attribute_parties(text, [], actors, spans_at(text, "Mr Abbas", "Israel"))
    assert (parties.holder, parties.target) == ("Palestinian Authority", "Israel")


@pytest.mark.parametrize(
    ("span", "nearby", "actor"),
    [
        ("Mr Abbas", "", "Palestinian Authority"),  # a surname of a person alias
        ("the North", "Pyongyang fired a missile; North Korea said", "North Korea"),
        ("Syria's opposition", "", "Syrian Opposition"),  # "Syria" for "Syrian"
        ("the government in Kabul", "", "Afghan Government"),
        ("Taliban spokesman Zabihullah Mujahid", "", "Taliban"),
    ],
)
def test_references_the_dictionary_cannot_see_as_written(actors, span, nearby, actor):
    assert canonical_party(span, nearby, actors) == actor


def test_an_ambiguous_word_is_resolved_by_the_party_the_text_names_or_not_at_all(actors):
    # "opposition" is part of several actors' aliases: only the context can say which.
    assert canonical_party("the opposition delegation", "", actors) == ""
    nearby = "The Syrian opposition met in Riyadh."
    assert canonical_party("the opposition delegation", nearby, actors) == "Syrian Opposition"


def test_a_pronoun_holder_is_the_party_the_previous_sentence_names(actors):
    context = ["The Houthis rejected the new UN roadmap on Saturday."]
    text = "It has said it will not attend any round in Muscat until the blockade ends."
    parties = attribute_parties(text, context, actors, spans_at(text, "It"))
    assert parties.holder == "Houthis"


def test_the_subject_of_a_reported_refusal_not_the_party_whose_offer_it_refuses(actors):
    text = (
        "We studied Pyongyang's proposal carefully and told them it falls short, a State "
        "Department spokesman said."
    )
    found = spans_at(text, "a State Department spokesman", "Pyongyang")
    parties = attribute_parties(text, [], actors, found)
    assert (parties.holder, parties.target) == ("United States", "North Korea")


def test_an_unsure_extractor_leaves_the_decision_to_the_dictionary_rules(actors):
    text = "The Taliban said they would not talk to the Kabul government."
    unsure = spans_at(text, "Kabul government", "Taliban", score=0.2)
    parties = attribute_parties(text, [], actors, unsure)
    assert (parties.holder, parties.holder_text) == ("Taliban", "")
    assert parties.target == "Afghan Government"


def test_no_party_named_anywhere_gives_no_holder(actors):
    text = "It said it would attend if the bombing stopped."
    parties = attribute_parties(
        text, ["Talks were due to start on Friday."], actors, spans_at(text, "It")
    )
    assert parties.holder == ""


def test_the_target_is_never_the_holder(actors):
    text = "Hamas said it was ready for indirect talks."
    parties = attribute_parties(text, [], actors, spans_at(text, "Hamas", "Hamas"))
    assert (parties.holder, parties.target) == ("Hamas", "")


def test_content_words_drop_titles_pronouns_and_possessives():
    assert content_words("Mr Abbas") == ("abbas",)
    assert content_words("Syria's opposition") == ("syria", "opposition")
    assert content_words("It") == ()


class _FixedExtractor:
    def __init__(self, spans):
        self.spans, self.read = spans, []

    def extract(self, items):
        self.read.extend(items)
        return [self.spans for _ in items]


def test_only_stance_rows_are_read_by_the_extractor_and_get_its_parties(actors):
    from pipeline.prediction.rows import Passage

    stance_text = "Mr Abbas said he was ready to meet Israel."
    passages = [
        Passage("d", 0, 0, 10, "Rain fell in Gaza.", "unknown", "", context=()),
        Passage("d", 1, 11, 50, stance_text, "Palestinian Authority", "", context=("x",)),
    ]
    rows = [
        {"label": "none", "holder": "unknown", "target": "", "holder_text": "", "target_text": ""},
        {"label": "accept", "holder": "?", "target": "?", "holder_text": "", "target_text": ""},
    ]
    extractor = _FixedExtractor(spans_at(stance_text, "Mr Abbas", "Israel"))
    attribute_stance_rows(extractor, rows, passages, actors, 0.5)
    assert extractor.read == [("x", stance_text)]
    assert rows[0]["holder"] == "unknown"
    assert (rows[1]["holder"], rows[1]["holder_text"], rows[1]["target"]) == (
        "Palestinian Authority",
        "Mr Abbas",
        "Israel",
    )


def test_training_spans_mark_the_holder_in_the_passage_else_in_its_context(actors, make_statement):
    from pipeline.annotations import Statement

    first = Statement(
        **make_statement(
            id="a1",
            doc_id="s1",
            text="The Taliban met in Doha.",
            label="none",
            holder="",
            target="",
        )
    )
    second = Statement(
        **make_statement(
            id="a2",
            doc_id="s1",
            text="He said the movement would not negotiate with Kabul.",
            label="reject",
            holder="Taliban",
            target="Afghan Government",
        )
    )
    (example,) = statement_examples([first, second], actors)
    assert example.context == "The Taliban met in Doha."
    assert example.holder_spans == (Span(CONTEXT, 4, 11),)
    assert [example.text[s.start : s.end] for s in example.target_spans] == ["Kabul"]


def test_token_tags_follow_the_spans_in_both_segments(tiny_base_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base_model)
    example = PartyExample(
        context="Hamas spoke first.",
        text="They will meet Israel.",
        holder_spans=(Span(CONTEXT, 0, 5),),
        target_spans=(Span(PASSAGE, 15, 21),),
    )
    encoded = encode(tokenizer, example, 64)
    tagged = {
        tokenizer.convert_ids_to_tokens(i): tag
        for i, tag in zip(encoded.input_ids, encoded.labels, strict=True)
        if tag > 0
    }
    assert tagged == {"hamas": 1, "israel": 3}


# The dictionary rules alone (no extractor, the default): one statement per failure kind.
@pytest.mark.parametrize(
    ("context", "text", "holder", "holder_text", "target"),
    [
        # A party outside the dictionary is not the place it meets in.
        (
            [
                "The Syrian opposition has threatened to boycott talks with the government in Damascus."
            ],
            "A council of exiled opposition leaders meeting in Riyadh said on Sunday its "
            "negotiators would stay away from Geneva.",
            "Syrian Opposition",
            "",
            "Syrian Government",  # the context's other party, not the city they met in
        ),
        # The speaker of a quote, not the first party named.
        (
            [],
            'In an interview with a French newspaper, Mr Abbas said: "We are ready to '
            'negotiate with Israel tomorrow."',
            "Palestinian Authority",
            "",
            "Israel",
        ),
        # A sentence-initial pronoun is the party the previous sentence is about.
        (
            ["The Houthis rejected the new UN roadmap on Saturday."],
            "It has said it will not attend any round in Muscat until the blockade ends.",
            "Houthis",
            "",
            "United Nations",
        ),
        # The subject of a reported refusal, not the party whose offer it refuses.
        (
            [],
            "We studied Pyongyang's proposal carefully and told them it falls short, a State "
            "Department spokesman said.",
            "United States",
            "",
            "North Korea",
        ),
        # A speaker the dictionary cannot name is kept as text, not guessed.
        (
            ["Fighting continued in the north."],
            "Minister Okonjo-Vale said her cabinet would never sit down with the Taliban.",
            "",
            "Minister Okonjo-Vale",
            "Taliban",
        ),
        # ... unless the clause is about a party the passage names.
        (
            [],
            "Mexico will keep hosting the talks, Marcelo Ebrard said, urging both sides back.",
            "Mexico",
            "Marcelo Ebrard",
            "",
        ),
    ],
)
def test_the_rules_find_the_speaker_for_each_failure_kind(
    actors, context, text, holder, holder_text, target
):
    if holder == "Mexico" and "Mexico" not in actors.aliases:
        pytest.skip("the dictionary has no Mexico entry")
    parties = attribute_parties(text, context, actors)
    assert (parties.holder, parties.holder_text, parties.target) == (holder, holder_text, target)


def test_a_place_of_talks_is_the_target_only_when_no_party_is_named(actors):
    from pipeline.actors import attribute_target

    context = ["The Afghan government offered talks last week."]
    text = "The Taliban, meeting in Doha, said they would not attend."
    assert attribute_target(text, actors, "Taliban", context) == "Afghan Government"
    assert attribute_target(text, actors, "Taliban") == "Qatar"  # nothing else is named


@pytest.mark.slow
def test_a_run_with_the_extractor_carries_it_and_predict_uses_it_on_stance_rows(
    tmp_path, tiny_base_model, toy_annotations
):
    """`parties.enabled` trains the extractor into the model folder, meta.json records it, and
    every loader (here `stance predict`) attributes stance rows with it; `none` rows keep the
    rules' holder. The tiny random model's spans are meaningless: min_score 0 makes the
    extractor decide every stance row, so its words show up in `holder_text`."""
    import json

    from click.testing import CliRunner
    from conftest import toy_run_config

    from pipeline.cascade import load_classifier
    from pipeline.cli import cli
    from pipeline.parties import PARTIES_DIR
    from pipeline.prediction.rows import read_passages
    from pipeline.training import train

    config = toy_run_config(tiny_base_model, toy_annotations, epochs=40)
    config = config.model_copy(
        update={
            "parties": config.parties.model_copy(
                update={
                    "enabled": True,
                    "base_model": str(tiny_base_model),
                    "epochs": 1,
                    "frozen_layers": 0,
                    "max_length": 64,
                    "min_score": 0.0,
                }
            )
        }
    )
    result = train(config, output_dir=tmp_path / "run", progress=False)
    folder = result.model_dir
    assert (folder / PARTIES_DIR / "model.safetensors").is_file()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["parties"]["base_model"] == str(tiny_base_model)
    assert len(meta["parties"]["sha256"]) == 64
    assert load_classifier(folder).parties is not None

    articles = tmp_path / "in"
    articles.mkdir()
    (articles / "a.txt").write_text(
        "The rebels said they were ready to talk. Rain fell on the capital on Monday.",
        encoding="utf-8",
    )
    out = tmp_path / "p.jsonl"
    run = CliRunner().invoke(
        cli, ["predict", str(articles), "--model", str(folder), "--output", str(out)]
    )
    assert run.exit_code == 0, run.output
    rows = read_passages(out)
    stance = [r for r in rows if r["label"] != "none"]
    assert stance, rows
    assert all(r["holder_text"] for r in stance)
    assert all(r["holder_text"] == "" for r in rows if r["label"] == "none")


# Passages written for these tests: speech reported inside a quotation is not the passage's.
@pytest.mark.parametrize(
    ("text", "holder", "target"),
    [
        ('Hamas said: "Israel told us the talks were over, but it lied."', "Hamas", "Israel"),
        ("Hamas said: “Israel told us the talks were over, but it lied.”", "Hamas", "Israel"),
        ("“Israel told us nothing new,” said Hamas.", "Hamas", "Israel"),
        ('"We are ready," Hamas said, "but Israel said no to a meeting."', "Hamas", "Israel"),
    ],
)
def test_said_inside_a_quotation_does_not_make_the_quoted_party_the_holder(
    actors, text, holder, target
):
    parties = attribute_parties(text, [], actors)
    assert (parties.holder, parties.target) == (holder, target)


def test_an_unknown_speaker_is_not_given_the_party_they_would_meet(actors):
    text = "Minister Okonjo-Vale said she would meet the Taliban next week."
    parties = attribute_parties(text, [], actors)
    assert (parties.holder, parties.holder_text, parties.target) == (
        "",
        "Minister Okonjo-Vale",
        "Taliban",
    )


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            "Rebels: [the rebels, '...']\n",
            "1: Rebels: alias '...' has no letter or digit, so it would match punctuation in any "
            "text; remove it",
        ),
        (
            "Rebels: [the rebels, a]\n",
            "1: Rebels: alias 'a' is a single character, so it would match ordinary words ('a', "
            "'I'); write the name in full",
        ),
        (
            "Rebels: [the rebels]\nMilitia: [The Rebels]\n",
            "2: Militia: alias 'The Rebels' is also a name of 'Rebels'; a name must belong to "
            "one actor: remove it from one of the two entries",
        ),
    ],
)
def test_dictionary_aliases_that_would_name_actors_the_text_does_not_are_refused(
    tmp_path, entries, message
):
    from pipeline.errors import ConfigError

    path = tmp_path / "actors.yaml"
    path.write_text(entries, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        ActorDictionary.from_yaml(path)
    assert str(error.value) == f"{path}:{message}"


def test_aliases_with_regex_characters_or_none_match_as_written(tmp_path):
    path = tmp_path / "actors.yaml"
    path.write_text("Rebels: ['C++ front', '(the rebels)', 'r.*s']\nCouncil: []\n")
    actors = ActorDictionary.from_yaml(path)
    assert attribute_parties("The C++ front said no.", [], actors).holder == "Rebels"
    assert attribute_parties("The rooms said nothing.", [], actors).holder == ""
    assert attribute_parties("The Council refused talks.", [], actors).holder == "Council"


REPAIR = (
    "retrain the model with `parties.enabled: true` (`stance train` writes its parties/ "
    "folder), or delete parties/ to attribute holders with the dictionary rules alone"
)


def party_folder(model_dir, meta: dict | str | None, config: str = "{}"):
    """A model folder's `parties/` with placeholder weights and the given party_meta.json
    (a dict, raw text, or None for none): what is read before any weights are."""
    import json

    folder = model_dir / "parties"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(config)
    for name in ("model.safetensors", "tokenizer.json"):
        (folder / name).write_text("placeholder")
    if meta is not None:
        text = meta if isinstance(meta, str) else json.dumps(meta)
        (folder / "party_meta.json").write_text(text)
    return folder


GOOD_META = {"tags": ["O", "B-HOLDER", "I-HOLDER", "B-TARGET", "I-TARGET"], "max_length": 64}


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        (
            "{not json",
            "not valid JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1))",
        ),
        ("[1, 2]", "expected a JSON object"),
        ({**GOOD_META, "max_length": "long"}, "max_length: 'long' is not a positive whole number"),
        ({**GOOD_META, "min_score": "high"}, "min_score: 'high' is not a number from 0 to 1"),
    ],
)
def test_a_damaged_party_meta_is_a_model_folder_error_naming_it(tmp_path, meta, problem):
    from pipeline.errors import ModelFolderError
    from pipeline.parties import load_party_attribution

    folder = party_folder(tmp_path, meta)
    with pytest.raises(ModelFolderError) as error:
        load_party_attribution(tmp_path)
    assert str(error.value) == f"{folder / 'party_meta.json'}: {problem}; {REPAIR}"


def test_a_missing_or_unreadable_party_file_names_it_and_how_to_repair(tmp_path):
    from pipeline.errors import ModelFolderError
    from pipeline.parties import load_party_attribution

    folder = party_folder(tmp_path / "a", None)
    with pytest.raises(ModelFolderError) as error:
        load_party_attribution(tmp_path / "a")
    assert str(error.value) == (
        f"{folder}: not a party extractor folder, missing party_meta.json; {REPAIR}"
    )
    folder = party_folder(tmp_path / "b", GOOD_META, config="{oops")
    with pytest.raises(ModelFolderError, match=r"cannot read its config.json or model.safetensors"):
        load_party_attribution(tmp_path / "b")


def test_a_model_whose_meta_records_parties_needs_its_parties_folder(tmp_path):
    import json

    from pipeline.errors import ModelFolderError
    from pipeline.parties import load_party_attribution

    (tmp_path / "meta.json").write_text(json.dumps({"parties": {"folder": "parties"}}))
    with pytest.raises(ModelFolderError) as error:
        load_party_attribution(tmp_path)
    assert str(error.value) == (
        f"{tmp_path / 'parties'}: missing, but {tmp_path / 'meta.json'} records a party "
        "extractor (parties); copy parties/ from the model's source, or retrain the model "
        "(`stance train` with `parties.enabled: true`)"
    )
    (tmp_path / "meta.json").write_text(json.dumps({"labels": []}))
    assert load_party_attribution(tmp_path) is None  # no extractor: the rules alone


@pytest.mark.parametrize("model", ["no-such-model", "model-best/parties"])
def test_holders_with_a_model_that_is_not_a_model_folder_is_refused(
    fake_model_folder, tmp_path, model
):
    import shutil

    from click.testing import CliRunner
    from conftest import statement, write_jsonl

    from pipeline.cli import cli

    shutil.copytree(fake_model_folder, tmp_path / "model-best")
    party_folder(tmp_path / "model-best", GOOD_META)
    statements = write_jsonl(tmp_path / "s.jsonl", [statement()])
    result = CliRunner().invoke(cli, ["holders", str(statements), "--model", str(tmp_path / model)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {tmp_path / model}: ")
    assert "model folder" in result.stderr


def test_party_training_problems_are_refused_before_the_stance_model_trains(
    toy_config, tiny_base_model, monkeypatch, tmp_path
):
    from pipeline.errors import ConfigError
    from pipeline.training import train

    def must_not_train(seed):
        raise AssertionError("the stance model started training")

    monkeypatch.setattr("pipeline.training.set_seed", must_not_train)
    config = toy_config()
    parties = config.parties.model_copy(update={"enabled": True, "base_model": "no-such-base"})
    config = config.model_copy(update={"parties": parties})
    with pytest.raises(ConfigError, match=r"^parties.base_model: base model 'no-such-base' "):
        train(config, output_dir=tmp_path / "run", progress=False)

    # No dictionary to find spans with (none given, no configs/actors.yaml in this folder).
    monkeypatch.chdir(tmp_path)
    parties = parties.model_copy(update={"base_model": str(tiny_base_model)})
    with pytest.raises(ConfigError) as error:
        train(config.model_copy(update={"parties": parties}), tmp_path / "run", progress=False)
    assert str(error.value) == (
        "parties.enabled: the party extractor finds holder spans with the actor dictionary, and "
        "configs/actors.yaml is not found; set predict.actors to a dictionary file"
    )


def _passage_parties(actors, text: str, title: str = "") -> list[tuple[str, str]]:
    """(holder, target) of every sentence of an article, as `stance predict` attributes them."""
    from pipeline.documents import Document
    from pipeline.scoring import SegmentOptions, document_passages

    document = Document(doc_id="d", text=text, title=title)
    return [(p.holder, p.target) for p in document_passages(document, SegmentOptions(), actors)]


def test_a_target_the_passage_does_not_cue_is_the_other_side_the_article_keeps_naming(actors):
    # The mediators are the only other party the last sentence names; the article is about the
    # army and the RSF, so the army's refusal is toward the RSF, not toward the African Union.
    text = (
        "The RSF shelled Omdurman again on Monday. "
        "Sudan's army said the RSF had broken the truce. "
        "Envoys say the RSF wants a new round. "
        "Sudan's army said there would be no talks as African Union mediators arrived."
    )
    assert _passage_parties(actors, text)[-1] == ("Sudanese Armed Forces", "Rapid Support Forces")


def test_a_target_cued_in_the_passage_still_wins_over_the_article(actors):
    text = (
        "The RSF shelled Omdurman again on Monday. "
        "The RSF said the army had broken the truce. "
        "Sudan's army said it was ready to talk with the African Union."
    )
    assert _passage_parties(actors, text)[-1] == ("Sudanese Armed Forces", "African Union")


def test_a_descriptive_speaker_is_the_party_the_article_named_before_the_context(actors):
    # "opposition" alone is not unmistakable; the Syrian opposition, named four sentences
    # earlier (outside the three-sentence context), is the only opposition in the article.
    text = (
        "The Syrian opposition met in Riyadh on Thursday. "
        "Fighting continued near Aleppo. "
        "Aid convoys were stopped at the border. "
        "The weather delayed flights. "
        "A senior opposition representative said they would not go to Geneva."
    )
    holder, _ = _passage_parties(actors, text)[-1]
    assert holder == "Syrian Opposition"


def test_an_article_that_names_no_party_gives_no_holder_and_no_target(actors):
    text = "Talks were due to start on Friday. A spokesman said they would attend if invited."
    # "unknown" is the rules' name for no holder (README "Holders").
    assert _passage_parties(actors, text, title="Talks delayed") == [("unknown", "")] * 2
