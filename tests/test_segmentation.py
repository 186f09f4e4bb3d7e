"""Segmentation: sentences with offsets into the original text."""

from __future__ import annotations

from pipeline.segmentation import passages, split_sentences


def texts(text, spans):
    return [text[s.start : s.end] for s in spans]


def test_abbreviations_and_quotes_do_not_break_sentences():
    text = (
        'The U.S. envoy met Taliban officials in Doha. "We are ready to talk," '
        "Mr. Shaheen said. Talks resume on Monday."
    )
    assert texts(text, split_sentences(text)) == [
        "The U.S. envoy met Taliban officials in Doha.",
        '"We are ready to talk," Mr. Shaheen said.',
        "Talks resume on Monday.",
    ]


def test_offsets_point_into_the_original_text_with_unicode_and_lines():
    text = "• Home\n\nकाबुल report: talks “resumed” today.\n  Second line here.  \n|\n"
    spans = split_sentences(text)
    assert texts(text, spans) == [
        "• Home",
        "काबुल report: talks “resumed” today.",
        "Second line here.",
    ]
    assert all(text[s.start : s.end] == t for s, t in zip(spans, texts(text, spans)))


def test_headlines_on_their_own_line_are_their_own_passage():
    text = "Taliban Boycott Istanbul Talks\nThe movement said it would not attend."
    assert texts(text, split_sentences(text)) == [
        "Taliban Boycott Istanbul Talks",
        "The movement said it would not attend.",
    ]


def test_windows_of_sentences():
    text = "One is here. Two is here. Three is here. Four is here. Five is here."
    assert texts(text, passages(text, window=2)) == [
        "One is here. Two is here.",
        "Three is here. Four is here.",
        "Four is here. Five is here.",
    ]
    assert texts(text, passages(text, window=2, stride=1))[1] == "Two is here. Three is here."
    assert list(passages("", window=2)) == []


def test_a_long_line_without_punctuation_becomes_readable_passages():
    long_line = "Talks " + "word " * 1000
    text = long_line + "\n" + "x" * 2500
    pieces = texts(text, split_sentences(text))
    assert all(len(piece) <= 1000 for piece in pieces)
    # Nothing is lost: the pieces cover every word of the long line and the unbroken run.
    assert " ".join(pieces[:-3]).split() == long_line.split()
    assert pieces[-3:] == ["x" * 1000, "x" * 1000, "x" * 500]
