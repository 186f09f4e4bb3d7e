"""Input formats as news arrives: compressed files, zips, WARC, news-please JSON, field mappings,
and the language filter. Every input is generated small in the test; no model is needed."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import zstandard

from pipeline.articles import Document, iter_documents, reading_options
from pipeline.config import PredictConfig
from pipeline.errors import ConfigError

ENGLISH = "The rebels said on Monday that they were ready for talks with the government in Oslo."
SPANISH = (
    "El gobierno dijo que no negociará con los rebeldes hasta que se mantenga el alto el fuego."
)
COMPRESS = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": lambda data: zstandard.ZstdCompressor().compress(data),
}


def read(*inputs, **options) -> tuple[list[Document], dict]:
    """Documents, and problems as {(file name, line): reason}."""
    documents, problems = [], {}
    for item in iter_documents([str(i) for i in inputs], **options):
        if isinstance(item, Document):
            documents.append(item)
        else:
            problems[(Path(item.input).name, item.line)] = item.reason
    return documents, problems


def records_jsonl(*texts: str) -> bytes:
    return "".join(
        json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(texts)
    ).encode()


@pytest.mark.parametrize("compression", sorted(COMPRESS))
def test_compressed_files_read_like_plain_ones(tmp_path, compression):
    compress = COMPRESS[compression]
    (tmp_path / f"records.jsonl{compression}").write_bytes(compress(records_jsonl(ENGLISH)))
    (tmp_path / f"story.txt{compression}").write_bytes(compress(ENGLISH.encode()))
    page = f"<html><body><article><p>{ENGLISH}</p><p>{ENGLISH}</p></article></body></html>"
    (tmp_path / f"page.html{compression}").write_bytes(compress(page.encode()))
    (tmp_path / f"rows.csv{compression}").write_bytes(
        compress(f'id,text\nc1,"{ENGLISH}"\n'.encode())
    )
    parquet = io.BytesIO()
    pd.DataFrame({"id": ["p1"], "text": [ENGLISH]}).to_parquet(parquet)
    (tmp_path / f"rows.parquet{compression}").write_bytes(compress(parquet.getvalue()))

    documents, problems = read(tmp_path)

    assert problems == {}
    assert sorted(d.doc_id for d in documents) == sorted(
        ["c1", f"page.html{compression}", "p1", "r0", f"story.txt{compression}"]
    )
    assert all(ENGLISH in d.text for d in documents)


def test_a_damaged_compressed_file_keeps_the_records_before_the_damage(tmp_path):
    texts = [f"{ENGLISH} ({i})" for i in range(2000)]
    data = gzip.compress(records_jsonl(*texts))
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])

    documents, problems = read(tmp_path / "cut.jsonl.gz")

    assert 0 < len(documents) < 2000
    assert [d.text for d in documents] == texts[: len(documents)]
    *_, (where, reason) = problems.items()  # the cut line itself may be a JSON fragment
    assert where == ("cut.jsonl.gz", None)
    assert reason.startswith(
        "unreadable (Compressed file ended before the end-of-stream marker was reached) after line "
    )


def test_a_truncated_compressed_parquet_is_reported_once_not_read(tmp_path):
    parquet = io.BytesIO()
    pd.DataFrame({"text": [f"{ENGLISH} ({i})" for i in range(3000)]}).to_parquet(parquet)
    data = gzip.compress(parquet.getvalue())
    (tmp_path / "rows.parquet.gz").write_bytes(data[: len(data) // 2])

    documents, problems = read(tmp_path)

    assert documents == []
    assert problems == {
        ("rows.parquet.gz", None): "unreadable (Compressed file ended before the end-of-stream "
        "marker was reached)"
    }


def test_a_compression_bomb_is_stopped_not_decompressed(tmp_path):
    bomb = tmp_path / "bomb.txt.gz"
    bomb.write_bytes(gzip.compress(b"talks " * 2_000_000))  # 12 MB from about 12 KB

    documents, problems = read(bomb, max_compression_ratio=100)

    assert documents == []
    reason = problems[("bomb.txt.gz", None)]
    assert reason.startswith("unreadable (decompressed more than 100 times its compressed size")
    assert reason.endswith(
        "likely a compression bomb; if the file is genuine, raise predict.max_compression_ratio)"
    )


def test_a_compressed_text_over_the_size_limit_is_skipped(tmp_path):
    (tmp_path / "long.txt.xz").write_bytes(lzma.compress((ENGLISH + "\n").encode() * 200))

    documents, problems = read(tmp_path, max_bytes=5000)

    assert documents == []
    assert problems == {("long.txt.xz", None): "file too large (over 5000 bytes once decompressed)"}


def test_zip_members_are_read_by_their_format_and_named_inside_the_zip(tmp_path):
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("2019/story.txt", ENGLISH)
        archive.writestr("2019/records.jsonl.gz", gzip.compress(records_jsonl(ENGLISH)))
        archive.writestr("notes.docx", b"PK")
        archive.writestr("__MACOSX/2019/._story.txt", b"\x00")
        archive.writestr(".DS_Store", b"\x00")
        archive.writestr("inner.zip", b"PK")

    documents, problems = read(tmp_path)

    assert [(d.doc_id, d.input) for d in documents] == [
        ("bundle.zip/2019/story.txt", f"{bundle}/2019/story.txt"),
        ("r0", f"{bundle}/2019/records.jsonl.gz"),
    ]
    assert problems == {
        ("notes.docx", None): "unsupported file type '.docx' (supported: .arc, .csv, .htm, "
        ".html, .json, .jsonl, .md, .parquet, .txt, .warc, .zip; each but .zip also compressed "
        "as .gz, .bz2, .xz, .zst)",
        ("inner.zip", None): "a zip inside a zip is not read; extract it first",
    }


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/passwd.txt", "a/../../b.txt", "C:/x.txt"])
def test_zip_member_with_an_unsafe_path_is_refused(tmp_path, name):
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name), ENGLISH)
        archive.writestr("safe.txt", ENGLISH)

    documents, problems = read(bundle)

    assert [d.doc_id for d in documents] == [f"{bundle}/safe.txt"]
    assert problems == {
        ("bundle.zip", None): f"zip member {name!r} has an unsafe path (absolute, or climbing "
        "out with '..'); not read"
    }


def test_zip_bomb_member_is_refused_before_it_is_opened(tmp_path):
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.jsonl", b"\n" * 5_000_000)
        archive.writestr("story.txt", ENGLISH)
    info = zipfile.ZipFile(bundle).getinfo("bomb.jsonl")

    documents, problems = read(bundle)

    assert [d.doc_id for d in documents] == [f"{bundle}/story.txt"]
    ratio = info.file_size / info.compress_size
    assert problems == {
        ("bomb.jsonl", None): f"expands {ratio:.0f} times ({info.compress_size} -> 5000000 "
        "bytes), more than predict.max_compression_ratio (100): likely a zip bomb; not read "
        "(raise the ratio if the file is genuine)"
    }


def write_warc(path: Path, records: list[tuple]) -> list[str]:
    """A WARC of (url, kind, status, content type, payload) records; returns their record ids."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    ids = []
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=path.suffix == ".gz")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        for url, kind, status, content_type, payload in records:
            http = None
            if status:
                http = StatusAndHeaders(
                    status, [("Content-Type", content_type)], protocol="HTTP/1.1"
                )
            record = writer.create_warc_record(
                url,
                kind,
                payload=io.BytesIO(payload),
                http_headers=http,
                warc_headers_dict={"WARC-Date": "2019-03-04T10:00:00Z"},
            )
            writer.write_record(record)
            ids.append(record.rec_headers.get_header("WARC-Record-ID").strip("<>"))
    return ids


def news_page(paragraph: str, head: str = "") -> bytes:
    return (
        f"<html><head><title>Talks resume</title>{head}</head><body><nav>Home | World</nav>"
        f"<article><h1>Talks resume</h1><p>{paragraph * 3}</p></article></body></html>"
    ).encode()


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz"])
def test_warc_html_pages_become_documents_and_other_records_are_counted(tmp_path, name):
    dated = '<meta property="article:published_time" content="2019-02-28">'
    cafe = "Café owners said the “talks” resumed in Oslo on Monday, officials said. "
    ids = write_warc(
        tmp_path / name,
        [
            ("https://news.example.com/a", "request", None, None, b"GET /a HTTP/1.1\r\n\r\n"),
            (
                "https://news.example.com/a",
                "response",
                "200 OK",
                "text/html",
                news_page(ENGLISH + " ", dated),
            ),
            ("https://news.example.com/b", "response", "404 Not Found", "text/html", b"<html/>"),
            ("https://news.example.com/c.jpg", "response", "200 OK", "image/jpeg", b"\xff\xd8"),
            ("https://news.example.com/d", "response", "301 Moved", "text/html", b""),
            (
                "https://news.example.com/e",
                "response",
                "200 OK",
                "text/html; charset=windows-1252",
                news_page(cafe).decode().encode("cp1252"),
            ),
        ],
    )

    documents, problems = read(tmp_path / name)

    assert [(d.doc_id, d.url, d.date, d.source, d.title) for d in documents] == [
        (ids[1], "https://news.example.com/a", "2019-02-28", "news.example.com", "Talks resume"),
        (ids[5], "https://news.example.com/e", "2019-03-04", "news.example.com", "Talks resume"),
    ]
    assert ENGLISH in documents[0].text and cafe.strip() in documents[1].text
    assert problems == {
        (name, None): "passed over 5 WARC records that are not HTML pages with status 200 "
        "(image/jpeg: 1, request records: 1, status 301: 1, status 404: 1, warcinfo records: 1)"
    }


def test_a_bad_warc_page_is_reported_by_record_and_url_and_the_rest_is_read(tmp_path):
    write_warc(
        tmp_path / "crawl.warc.gz",
        [
            (
                "https://x.example/empty",
                "response",
                "200 OK",
                "text/html",
                b"<html><body></body></html>",
            ),
            (
                "https://x.example/latin1",
                "response",
                "200 OK",
                "text/html",
                news_page("Caf\xe9 talks. ").decode().encode("latin-1"),
            ),
            ("https://x.example/ok", "response", "200 OK", "text/html", news_page(ENGLISH + " ")),
        ],
    )

    documents, problems = read(tmp_path / "crawl.warc.gz")

    assert [d.url for d in documents] == ["https://x.example/ok"]
    assert problems == {
        ("crawl.warc.gz", 2): "https://x.example/empty: no article text found in HTML",
        ("crawl.warc.gz", 3): "https://x.example/latin1: line 1: not UTF-8 (invalid byte 0xE9, "
        "byte 112 of the line); re-save the file as UTF-8 or declare its charset (<meta "
        "charset=...>)",
        ("crawl.warc.gz", None): "passed over 1 WARC record that is not an HTML page with "
        "status 200 (warcinfo records: 1)",
    }


def warc_pages(count: int) -> list[tuple]:
    return [
        (f"https://x.example/{i}", "response", "200 OK", "text/html", news_page(f"{ENGLISH} {i} "))
        for i in range(count)
    ]


def test_a_truncated_warc_reports_the_cut_record_and_keeps_the_pages_before(tmp_path):
    write_warc(tmp_path / "full.warc", warc_pages(6))
    data = (tmp_path / "full.warc").read_bytes()
    (tmp_path / "cut.warc").write_bytes(data[: data.index(b"Oslo. 3 ")])  # inside page 3

    documents, problems = read(tmp_path / "cut.warc")

    assert [d.url for d in documents] == [f"https://x.example/{i}" for i in range(3)]
    assert problems[("cut.warc", 5)] == (
        "https://x.example/3: the file ends inside this record (a truncated download?)"
    )


def test_a_truncated_warc_gz_keeps_the_pages_before_the_damage(tmp_path):
    write_warc(tmp_path / "full.warc.gz", warc_pages(6))
    data = (tmp_path / "full.warc.gz").read_bytes()
    (tmp_path / "cut.warc.gz").write_bytes(data[: len(data) // 2])

    documents, problems = read(tmp_path / "cut.warc.gz")

    assert 0 < len(documents) < 6
    assert [d.url for d in documents] == [f"https://x.example/{i}" for i in range(len(documents))]
    assert problems[("cut.warc.gz", None)].startswith(
        "unreadable (Compressed file ended before the end-of-stream marker was reached) after "
        "record "
    )


def test_news_please_json_is_one_article_per_file(tmp_path):
    article = {
        "maintext": ENGLISH,
        "title": "Rebels ready for talks",
        "date_publish": "2019-05-14 10:20:00",
        "url": "https://news.example.com/rebels",
        "source_domain": "news.example.com",
        "language": "en",
    }
    (tmp_path / "2019").mkdir()
    (tmp_path / "2019" / "rebels.json").write_text(json.dumps(article))
    (tmp_path / "plain.json").write_text(json.dumps({"text": ENGLISH}))
    (tmp_path / "list.json").write_text(json.dumps([article]))

    documents, problems = read(tmp_path)

    assert documents == [
        Document(
            doc_id="2019/rebels.json",
            text=ENGLISH,
            title="Rebels ready for talks",
            date="2019-05-14 10:20:00",
            source="news.example.com",
            url="https://news.example.com/rebels",
            input=str(tmp_path / "2019" / "rebels.json"),
            language="en",
        )
    ]
    assert problems == {
        ("plain.json", None): "field 'maintext' is missing (a .json file is read as one "
        "news-please article; other JSON goes in a .jsonl file, one object per line)",
        ("list.json", None): "expected one JSON object (a news-please article); for many "
        "records write JSON Lines (.jsonl), one object per line",
    }


def test_field_mapping_reads_records_whose_fields_have_other_names(tmp_path):
    fields = {"text": "maintext", "date": "date_publish", "id": "uuid", "title": "headline"}
    record = {"uuid": "u1", "maintext": ENGLISH, "date_publish": "2019-05-14", "headline": "H"}
    (tmp_path / "dump.jsonl").write_text(
        json.dumps(record) + "\n" + json.dumps({"text": "x"}) + "\n"
    )
    pd.DataFrame([record]).assign(uuid="u2").to_parquet(tmp_path / "dump.parquet")
    (tmp_path / "dump.csv").write_text(f'uuid,maintext,headline\nu3,"{ENGLISH}",H\n')

    documents, problems = read(tmp_path, fields=fields)

    assert sorted((d.doc_id, d.title, d.date) for d in documents) == [
        ("u1", "H", "2019-05-14"),
        ("u2", "H", "2019-05-14"),
        ("u3", "H", ""),
    ]
    assert problems == {("dump.jsonl", 2): "field 'maintext' is missing"}


def test_a_record_file_without_the_mapped_text_field_says_how_to_map_it(tmp_path):
    pd.DataFrame({"body": [ENGLISH]}).to_parquet(tmp_path / "rows.parquet")

    _, problems = read(tmp_path / "rows.parquet")

    assert problems == {
        ("rows.parquet", None): "Parquet file has no 'text' column; set predict.fields.text to the "
        "field that holds the article text"
    }


def test_articles_in_other_languages_are_skipped_and_reported_by_default(tmp_path):
    (tmp_path / "mixed.jsonl").write_text(
        json.dumps({"id": "en", "text": ENGLISH})
        + "\n"
        + json.dumps({"id": "es", "text": SPANISH})
        + "\n"
        + json.dumps({"id": "short", "text": "Talks, Oslo."})
        + "\n"
    )

    documents, problems = read(tmp_path)

    assert [(d.doc_id, d.language) for d in documents] == [("en", "en"), ("short", "")]
    assert problems == {
        ("mixed.jsonl", 2): "language 'es' (identified by py3langid) is not one the model is "
        "trained for (predict.languages: en); not scored. To score it, train on a multilingual "
        "base model and add it to predict.languages, or set predict.languages to null"
    }


def test_languages_null_scores_every_language_and_declared_languages_are_used(tmp_path):
    (tmp_path / "mixed.jsonl").write_text(
        json.dumps({"id": "es", "text": SPANISH})
        + "\n"
        + json.dumps({"id": "declared", "text": ENGLISH, "language": "de-AT"})
        + "\n"
        + json.dumps({"id": "named", "text": ENGLISH, "language": "English"})
        + "\n"
    )

    everything, none_skipped = read(tmp_path, languages=None)
    english_only, skipped = read(tmp_path)

    assert none_skipped == {}
    assert [(d.doc_id, d.language) for d in everything] == [
        ("es", "es"),
        ("declared", "de"),
        ("named", "en"),  # "English" is not a code: the identifier decides
    ]
    assert [d.doc_id for d in english_only] == ["named"]
    assert skipped[("mixed.jsonl", 2)].startswith("language 'de' (declared by the input) is not")


def test_an_unknown_language_code_is_refused_before_reading(tmp_path):
    with pytest.raises(ConfigError) as info:
        iter_documents([str(tmp_path / "missing")], languages=["en", "xx"])
    assert str(info.value) == (
        "predict.languages: 'xx' is not a language code py3langid gives; use ISO 639-1 codes "
        "such as en, es, ar (or null to score every language)"
    )


def test_reading_options_follow_the_predict_config(tmp_path):
    (tmp_path / "dump.jsonl").write_text(json.dumps({"maintext": SPANISH}) + "\n")
    config = PredictConfig.model_validate({"fields": {"text": "maintext"}, "languages": ["es"]})

    documents, problems = read(tmp_path, **reading_options(config))

    assert problems == {} and [d.language for d in documents] == ["es"]


def test_the_default_reading_is_the_documented_predict_config():
    """iter_documents without options reads as `predict` with configs/default.yaml does."""
    from conftest import REPO

    from pipeline.config import load_config

    predict = load_config(REPO / "configs/default.yaml").predict
    assert predict.languages == ["en"] and predict.fields.text == "text"
    assert reading_options(predict) == reading_options(PredictConfig())


def test_an_empty_language_list_is_refused_by_the_config():
    with pytest.raises(ValueError, match="languages"):
        PredictConfig.model_validate({"languages": []})


def test_folders_pick_up_compressed_and_archived_inputs_by_their_inner_format(tmp_path):
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(ENGLISH.encode()))
    (tmp_path / "backup.tar.gz").write_bytes(gzip.compress(b"tar"))
    (tmp_path / "b.zip.gz").write_bytes(gzip.compress(b"PK"))

    documents, problems = read(tmp_path)

    assert [d.doc_id for d in documents] == ["a.txt.gz"]
    assert set(problems) == {("backup.tar.gz", None), ("b.zip.gz", None)}
    assert problems[("backup.tar.gz", None)].startswith("unsupported file type '.tar.gz'")


def test_predict_reads_with_the_configs_field_mapping_and_language_filter(fake_model, tmp_path):
    """`predict` itself follows predict.fields and predict.languages, and writes `language`."""
    from conftest import REPO

    from pipeline.inference import predict

    inputs = tmp_path / "crawl.jsonl.gz"
    records = [
        {"uid": "en-1", "maintext": ENGLISH, "date_publish": "2024-02-01"},
        {"uid": "es-1", "maintext": SPANISH, "date_publish": "2024-02-02"},
    ]
    inputs.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode()))
    options = PredictConfig.model_validate(
        {
            "actors": str(REPO / "configs/actors.yaml"),
            "backend": "torch",
            "fields": {"id": "uid", "text": "maintext", "date": "date_publish"},
        }
    )
    output = tmp_path / "out" / "passages.jsonl"
    manifest = predict(fake_model, [str(inputs)], output, options, device="cpu", progress=False)
    articles = pd.read_json(manifest["outputs"]["articles"], lines=True, dtype=False)
    assert articles["doc_id"].tolist() == ["en-1"]
    assert articles["language"].tolist() == ["en"]
    assert articles["date"].tolist() == ["2024-02-01"]
    errors = [json.loads(line) for line in open(manifest["outputs"]["errors"], encoding="utf-8")]
    assert any("language 'es'" in e["reason"] for e in errors)
