"""The validator: every kind of problem is reported, located, with an exact message."""

from __future__ import annotations

import pytest

from pipeline.annotations import load_statements, validate
from pipeline.errors import DataError


def messages(paths, **kwargs) -> list[str]:
    _, problems = validate(paths, **kwargs)
    return [str(p) for p in problems]


def test_valid_file_has_no_problems(jsonl, make_statement):
    path = jsonl(
        "a.jsonl",
        [
            make_statement(),
            make_statement(id="t-2", text="Fighting resumed.", label="none", holder="", target=""),
        ],
    )
    records, problems = validate([path])
    assert problems == []
    assert [r.statement.id for r in records] == ["t-0001", "t-2"]
    assert records[1].location == f"{path}:2"


def test_bad_json_is_reported_and_other_lines_still_read(jsonl, make_statement):
    path = jsonl("a.jsonl", ['{"id": "x", "text": ', make_statement()])
    records, problems = validate([path])
    assert [str(p) for p in problems] == [f"{path}:1: json: invalid JSON: Expecting value"]
    assert len(records) == 1


def test_json_that_is_not_an_object(jsonl):
    path = jsonl("a.jsonl", ["[1, 2]"])
    assert messages([path]) == [f"{path}:1: json: expected a JSON object"]


def test_missing_required_field(jsonl, make_statement):
    record = make_statement()
    del record["label"]
    path = jsonl("a.jsonl", [record])
    assert messages([path]) == [f"{path}:1: label: required field is missing"]


def test_unknown_field(jsonl, make_statement):
    path = jsonl("a.jsonl", [make_statement(stance="accept")])
    assert messages([path]) == [f"{path}:1: stance: unknown field"]


def test_unknown_label(jsonl, make_statement):
    path = jsonl("a.jsonl", [make_statement(label="acept")])
    assert messages([path]) == [
        f"{path}:1: label: unknown label 'acept' (expected one of accept, reject, conditional, none)"
    ]


def test_empty_text(jsonl, make_statement):
    path = jsonl("a.jsonl", [make_statement(text="   ")])
    assert messages([path]) == [f"{path}:1: text: empty text"]


def test_wrong_type_names_the_field(jsonl, make_statement):
    path = jsonl("a.jsonl", [make_statement(char_start="3", char_end=9, source="x.txt")])
    assert messages([path]) == [f"{path}:1: char_start: Input should be a valid integer"]


def test_bad_date(jsonl, make_statement):
    path = jsonl("a.jsonl", [make_statement(date="12/03/2015")])
    assert messages([path]) == [f"{path}:1: date: not an ISO date (YYYY-MM-DD): '12/03/2015'"]


def test_holder_rules(jsonl, make_statement):
    path = jsonl(
        "a.jsonl",
        [
            make_statement(id="a", holder=""),
            make_statement(id="b", text="Shelling hit the port.", label="none", holder="FARC"),
        ],
    )
    assert messages([path]) == [
        f"{path}:1: holder: required for label 'accept'",
        f"{path}:2: holder: must be empty for label 'none' (got 'FARC')",
    ]


def test_condition_rules(jsonl, make_statement):
    path = jsonl(
        "a.jsonl",
        [
            make_statement(id="a", label="conditional", condition=""),
            make_statement(id="b", text="They walked out.", label="reject", condition="ceasefire"),
        ],
    )
    assert messages([path]) == [
        f"{path}:1: condition: required for label 'conditional'",
        f"{path}:2: condition: must be empty for label 'reject'",
    ]


def test_duplicate_ids_point_to_the_first(jsonl, make_statement):
    path = jsonl("a.jsonl", [make_statement(), make_statement(text="Talks resumed in Oslo.")])
    assert messages([path]) == [f"{path}:2: id: duplicate id 't-0001' (first at {path}:1)"]


def test_duplicate_ids_across_files(jsonl, make_statement):
    a = jsonl("a.jsonl", [make_statement()])
    b = jsonl("b.jsonl", [make_statement(text="Another sentence entirely.")])
    assert messages([a, b]) == [f"{b}:1: id: duplicate id 't-0001' (first at {a}:1)"]


def test_same_text_with_conflicting_labels(jsonl, make_statement):
    path = jsonl(
        "a.jsonl",
        [
            make_statement(id="a"),
            make_statement(id="b", text="The rebels said they were READY to talk!", label="reject"),
        ],
    )
    assert messages([path]) == [
        f"{path}:2: label: 'reject' conflicts with 'accept' for same text at {path}:1"
    ]


def test_near_same_text_with_conflicting_labels(jsonl, make_statement):
    path = jsonl(
        "a.jsonl",
        [
            make_statement(
                id="a", text="The rebel commanders said on Monday they were ready to talk."
            ),
            make_statement(
                id="b",
                text="The rebel commanders said on Monday they were ready to talk",
                label="none",
                holder="",
                target="",
            ),
            make_statement(
                id="c",
                text="Rebel commanders said on Monday they were ready to talks.",
                label="none",
                holder="",
                target="",
            ),
        ],
    )
    found = messages([path])
    assert found[0] == f"{path}:2: label: 'none' conflicts with 'accept' for same text at {path}:1"
    assert found[1].startswith(
        f"{path}:3: label: 'none' conflicts with 'accept' for near-same text (0."
    )
    assert found[1].endswith(f") at {path}:1")
    assert len(found) == 2


def test_near_same_text_with_the_same_label_is_fine(jsonl, make_statement):
    path = jsonl(
        "a.jsonl",
        [
            make_statement(id="a"),
            make_statement(id="b", text="The rebels said they were ready to talk"),
        ],
    )
    assert messages([path]) == []


def test_same_text_in_two_documents_is_a_split_leak(jsonl, make_statement):
    # A wire headline copied into a second story: the grouped split could train on one copy and
    # test on the other.
    path = jsonl(
        "a.jsonl",
        [
            make_statement(id="a", doc_id="story-1"),
            make_statement(
                id="b", doc_id="story-2", text="The rebels said they were ready to talk"
            ),
        ],
    )
    assert messages([path]) == [
        f"{path}:2: text: same text as {path}:1 in another document ('story-1'): a split could "
        "put one copy in train and the other in test; keep one"
    ]


def test_offsets_checked_against_source(tmp_path, jsonl, make_statement):
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "art.txt").write_text("Headline\n\nThey offered talks.", "utf-8")
    good = make_statement(
        id="a", text="They offered talks.", source="art.txt", char_start=10, char_end=29
    )
    bad = make_statement(
        id="b",
        text="Headline",
        label="none",
        holder="",
        target="",
        source="art.txt",
        char_start=1,
        char_end=9,
    )
    path = jsonl("a.jsonl", [good, bad])
    assert messages([path]) == [
        f"{path}:2: char_start: offsets 1:9 give 'eadline\\n', not the text 'Headline'"
    ]


def test_missing_offsets_and_missing_source(jsonl, make_statement):
    path = jsonl(
        "a.jsonl",
        [
            make_statement(id="a", source="art.txt"),
            make_statement(id="b", text="Other.", source="gone.txt", char_start=0, char_end=6),
        ],
    )
    found = messages([path])
    assert found == [
        f"{path}:1: char_start: required for text taken from a source document",
        f"{path}:2: source: source file not found: {path.parent}/sources/gone.txt (put the "
        "article there, or pass --sources FOLDER)",
    ]


def _statement_from(source, make_statement, **overrides):
    return make_statement(
        id=overrides.pop("id", "a"),
        text="TOP S",
        label="none",
        holder="",
        target="",
        source=source,
        char_start=0,
        char_end=5,
        **overrides,
    )


def test_sources_outside_the_sources_folder_are_refused_and_never_read(
    tmp_path, jsonl, make_statement
):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET: the admin password", "utf-8")
    sources = tmp_path / "tree" / "sources"
    sources.mkdir(parents=True)
    (sources / "link.txt").symlink_to(secret)
    (sources / "inside.txt").write_text("TOP S is fine", "utf-8")
    (sources / "alias.txt").symlink_to(sources / "inside.txt")  # a link inside is fine
    path = jsonl(
        "tree/a.jsonl",
        [
            _statement_from("../../secret.txt", make_statement, id="a"),
            _statement_from(str(secret), make_statement, id="b"),
            _statement_from("link.txt", make_statement, id="c"),
            _statement_from("/etc/passwd.html", make_statement, id="d"),
            _statement_from("inside.txt", make_statement, id="e"),
            _statement_from("alias.txt", make_statement, id="f"),
        ],
    )
    found = messages([path])
    assert found == [
        f"{path}:1: source: '../../secret.txt' is refused: a source must name a file inside "
        f"{sources} (no absolute path, no '..')",
        f"{path}:2: source: '{secret}' is refused: a source must name a file inside {sources} "
        "(no absolute path, no '..')",
        f"{path}:3: source: 'link.txt' is refused: it leads outside {sources} (a symbolic link)",
        f"{path}:4: source: '/etc/passwd.html' is refused: a source must name a file inside "
        f"{sources} (no absolute path, no '..')",
    ]
    assert not any("SECRET" in m or "password" in m for m in found)


def test_only_regular_files_of_bounded_size_are_read(tmp_path, jsonl, make_statement, monkeypatch):
    import pipeline.annotations as annotations

    sources = tmp_path / "sources"
    (sources / "folder.txt").mkdir(parents=True)
    (sources / "big.txt").write_text("TOP S" + "x" * 100, "utf-8")
    monkeypatch.setattr(annotations, "MAX_SOURCE_BYTES", 50)
    path = jsonl(
        "a.jsonl",
        [
            _statement_from("folder.txt", make_statement, id="a"),
            _statement_from("big.txt", make_statement, id="b"),
        ],
    )
    assert messages([path]) == [
        f"{path}:1: source: 'folder.txt' is refused: not a regular file",
        f"{path}:2: source: source file too large to check: {sources}/big.txt (over 50 bytes)",
    ]


def test_sources_folder_option_is_the_only_folder_read(tmp_path, jsonl, make_statement):
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "art.txt").write_text("TOP S", "utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = jsonl("a.jsonl", [_statement_from("art.txt", make_statement)])
    assert messages([path]) == []
    assert messages([path], sources_dir=elsewhere) == [
        f"{path}:1: source: source file not found: {elsewhere}/art.txt (put the article there, "
        "or pass --sources FOLDER)"
    ]


def test_folder_is_read_recursively_in_sorted_order(tmp_path, jsonl, make_statement):
    jsonl("sub/b.jsonl", [make_statement(id="b")])
    jsonl("a.jsonl", [make_statement(id="a", text="Talks are off.", label="reject")])
    records, problems = validate([tmp_path])
    assert problems == []
    assert [r.statement.id for r in records] == ["a", "b"]


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        validate([tmp_path / "nope.jsonl"])
    with pytest.raises(DataError, match="no .jsonl annotation files in this folder"):
        validate([tmp_path])


def test_load_statements_refuses_bad_data_listing_every_problem(jsonl, make_statement):
    path = jsonl("a.jsonl", [make_statement(label="x"), make_statement(id="b", text="")])
    with pytest.raises(DataError) as info:
        load_statements([path])
    text = str(info.value)
    assert text.splitlines()[0] == "2 problem(s) in the annotations"
    assert f"{path}:1: label:" in text and f"{path}:2: text: empty text" in text


def test_validate_and_suggest_share_one_near_duplicate_rule():
    from pipeline.annotations import NEAR_DUPLICATE_SIMILARITY, near_duplicate_vectors
    from pipeline.suggest import select

    texts = [
        "The rebels said they were ready to talk.",
        "THE REBELS said -- they were ready to talk!",  # the same words: a near-duplicate
        "The army refused any talks.",
    ]
    vectors = near_duplicate_vectors(texts)
    similarity = (vectors @ vectors.T).toarray()
    assert similarity[0, 1] == pytest.approx(1.0)
    assert similarity[0, 2] < NEAR_DUPLICATE_SIMILARITY
    uncertain = {"p_accept": 0.3, "p_reject": 0.3, "p_conditional": 0.2, "p_none": 0.2}
    rows = [
        {"doc_id": f"d{i}", "passage_id": f"p{i}", "text": text, **uncertain}
        for i, text in enumerate(texts)
    ]
    picked = select(rows, 3, random_share=0)
    assert [row["text"] for row, _, _ in picked] == [texts[0], texts[2]]
