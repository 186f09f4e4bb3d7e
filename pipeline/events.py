"""Stance passages as event data: PLOVER-style JSON Lines for event-data tools.

PLOVER (Political Language Ontology for Verifiable Event Records, the ontology behind the
POLECAT data set; codebook 0.7b1 at github.com/openeventdata/PLOVER) codes an event as who
(`source`), toward whom (`recipient`), what (`event`), how (`mode`) and why (`context`). Each
stance passage of a `stance predict` run becomes one event:

| label       | event  | mode | context         |
|-------------|--------|------|-----------------|
| accept      | AGREE  | meet | []              |
| reject      | REJECT | meet | []              |
| conditional | AGREE  | meet | ["conditional"] |
| none        | (no event)                      |

- AGREE is PLOVER's "agree to, offer, promise, or otherwise indicate willingness or commitment
  to cooperate"; REJECT includes "refuse to meet, discuss, or negotiate". `meet` ("meetings and
  negotiations") is the REJECT/DEMAND mode for talks; PLOVER gives AGREE no modes, so AGREE
  borrows it to say the same thing (an optional field a reader may ignore).
- A conditional stance still indicates willingness to talk, on terms: it is AGREE, and the
  context `conditional` (a coder-specific context, as PLOVER allows beside its own list) keeps
  it apart, so `event == AGREE` counts every offer and dropping that context gives
  unconditional acceptance only. It is not PLOVER's `hypothetical` (an event that may not have
  happened): the statement of terms did happen.
- PLOVER codes no event without a named source actor, so a stance passage whose holder is
  `unknown` is left out (and counted).

Actor codes come from the actor dictionary (`ActorDictionary.code`): ISO 3166 alpha-3 for
states, None for non-state actors unless the dictionary gives one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.actors import UNKNOWN, ActorDictionary, load_actor_dictionary
from pipeline.errors import PipelineError, Problem
from pipeline.labels import Label
from pipeline.outputs import write_jsonl
from pipeline.prediction.rows import OutputPaths, iter_output_rows, read_manifest

# The codebook `cite_info.codebook` names: this mapping, versioned apart from PLOVER's own.
CODEBOOK = "stance-plover-1"
# The passage columns an event is made of (`target` is optional: older runs have none).
EVENT_COLUMNS = ("doc_id", "start", "end", "text", "label", "confidence", "holder", "date")
# The article columns an event cites; `story_id` is there when the run deduplicated stories.
ARTICLE_COLUMNS = ("doc_id", "url", "title", "language")
FIX_HINT = "correct or delete the row, or rerun `stance predict` to write the file again"


@dataclass(frozen=True)
class PloverCoding:
    """The PLOVER coding of one stance label."""

    event: str
    mode: str
    context: tuple[str, ...]
    quad_code: int  # 1 verbal cooperation, 3 verbal conflict (the usual QuadClass numbering)


PLOVER_CODING = {
    "accept": PloverCoding("AGREE", "meet", (), 1),
    "reject": PloverCoding("REJECT", "meet", (), 3),
    "conditional": PloverCoding("AGREE", "meet", ("conditional",), 1),
}


class PassageRow(BaseModel):
    """The fields of a passage row that an event is made of, checked and converted (CSV cells
    arrive as text: "12" becomes 12)."""

    model_config = ConfigDict(extra="ignore")

    doc_id: str = Field(min_length=1)
    passage_id: str = ""
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    label: Label
    confidence: float = Field(ge=0, le=1, allow_inf_nan=False)
    holder: str
    target: str = ""
    date: str

    @field_validator("passage_id", "holder", "target", "date", mode="before")
    @classmethod
    def _null_is_empty(cls, value):
        return "" if value is None else value

    @model_validator(mode="after")
    def _end_after_start(self) -> PassageRow:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


@dataclass
class EventExport:
    """What `export_events` wrote and left out."""

    output: Path
    events: Counter = field(default_factory=Counter)  # per PLOVER event category
    no_stance: int = 0  # `none` passages: not events
    no_actor: int = 0  # stance passages whose holder is unknown
    undated: int = 0  # events written with `date: null`
    problems: list[Problem] = field(default_factory=list)  # bad rows, skipped

    @property
    def written(self) -> int:
        return sum(self.events.values())


def event_id(doc_id: str, start: int, end: int) -> str:
    """A stable event id from the article id and the passage offsets: the same passage gets
    the same id in every export and every rerun of the same run."""
    digest = hashlib.sha256(json.dumps([doc_id, start, end]).encode("utf-8")).hexdigest()
    return f"stance-{digest[:20]}"


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def plover_date(date: str) -> str | None:
    """The YYYY-MM-DD PLOVER asks for, from an article date that begins with a real day
    ("2024-02-01", "2024-02-01T09:30:00Z"); None for a month only, no date or an impossible one."""
    match = _DAY.match(date or "")
    if match is None:
        return None
    try:
        dt.date.fromisoformat(match.group())
    except ValueError:
        return None
    return match.group()


def actor_object(name: str, actors: ActorDictionary) -> dict:
    """A PLOVER actor object: the canonical name (`identifier_text`) and its actor code."""
    return {"identifier_text": name, "code": actors.code(name)}


def plover_event(
    row: PassageRow, article: dict, actors: ActorDictionary, model: dict, coder: str
) -> dict:
    """The PLOVER record of one stance passage (field names from PLOVER's JSON spec; `label`,
    `confidence`, `model` and `story_id` are this coder's additions)."""
    coding = PLOVER_CODING[row.label]
    has_target = row.target not in ("", UNKNOWN)
    return {
        "id": event_id(row.doc_id, row.start, row.end),
        "date": plover_date(row.date),
        "source": [actor_object(row.holder, actors)],
        "recipient": [actor_object(row.target, actors)] if has_target else [],
        "event": [coding.event],
        "mode": coding.mode,
        "context": list(coding.context),
        "quad_code": coding.quad_code,
        "text": row.text,
        "text_info": {
            "start": row.start,
            "end": row.end,
            "doc_id": row.doc_id,
            "passage_id": row.passage_id,
        },
        "cite_info": {
            "url": article.get("url"),
            "title": article.get("title"),
            "language": article.get("language"),
            "codebook": CODEBOOK,
        },
        "coder": coder,
        "label": row.label,
        "confidence": row.confidence,
        "model": model,
        "story_id": article.get("story_id"),
    }


EVENT_FORMATS = {"plover": plover_event}


def check_passage_row(path: Path, line: int, row: dict) -> PassageRow | Problem:
    """The checked row, or the problem with its first bad field (file, line, field)."""
    try:
        return PassageRow.model_validate(row)
    except ValidationError as exc:
        error = exc.errors()[0]
        if not error["loc"]:  # the offsets check, which sees the whole row
            return Problem(str(path), line, "end", f"{error['ctx']['error']}; {FIX_HINT}")
        location = ".".join(str(part) for part in error["loc"])
        shown = "" if error["type"] == "missing" else f" (got {error['input']!r})"
        return Problem(str(path), line, location, f"{error['msg']}{shown}; {FIX_HINT}")


def read_articles(path: Path, problems: list[Problem]) -> dict[str, dict]:
    """doc_id -> the article fields events cite (empty values as None); bad rows go to
    `problems` (their events are written without those fields)."""
    articles = {}
    for line, row in iter_output_rows(path, ("doc_id",)):
        if isinstance(row, Problem):
            problems.append(row)
            continue
        if not isinstance(row.get("doc_id"), str) or not row["doc_id"]:
            message = f"doc_id is missing or not text; {FIX_HINT}"
            problems.append(Problem(str(path), line, "doc_id", message))
            continue
        wanted = (*ARTICLE_COLUMNS[1:], "story_id")
        articles[row["doc_id"]] = {key: row.get(key) or None for key in wanted}
    return articles


def model_and_coder(manifest: dict) -> tuple[dict, str]:
    """What made the events, from the run manifest: the model (folder, base model name, folder
    hash) and the coder (`stance-pipeline` and the version that ran predict)."""
    record = manifest.get("model") or {}
    base_model = record.get("base_model")  # a name, or {"name": ..., "weights_sha256": ...}
    model = {
        "folder": record.get("folder"),
        "base_model": base_model.get("name") if isinstance(base_model, dict) else base_model,
        "sha256": record.get("sha256"),
    }
    version = (manifest.get("versions") or {}).get("stance-pipeline", "")
    return model, f"stance-pipeline {version}".strip()


def export_events(
    passages: str | Path,
    output: str | Path,
    fmt: str = "plover",
    actors: str | Path | None = None,
) -> EventExport:
    """Write the stance passages of a `stance predict` output as event records (JSON Lines,
    atomically), one per stance passage with a known holder.

    Args:
        passages: OUT of a predict run (.jsonl, .csv or .parquet); its articles table and
            manifest are read from beside it.
        output: the JSON Lines file to write.
        fmt: the record format (`plover`).
        actors: the actor dictionary for actor codes; default the one the run used (its
            `predict.actors`, else the model folder's copy, else configs/actors.yaml).

    Returns:
        EventExport: counts per event, passages left out, and every bad row (file, line,
        field), each skipped.

    Raises:
        PipelineError: a run file is missing or unreadable as a whole, OUT is one of the run's
            files, the format is unknown, or the actor dictionary cannot be read.
    """
    from pipeline.inputs import resolve_inputs

    if fmt not in EVENT_FORMATS:
        raise PipelineError(f"unknown event format {fmt!r} (expected {', '.join(EVENT_FORMATS)})")
    make_record = EVENT_FORMATS[fmt]
    paths = OutputPaths.for_output(passages)
    for required in (paths.passages, paths.articles, paths.manifest):
        if not required.is_file():
            raise PipelineError(
                f"{required}: not found; is {passages} the output of stance predict?"
            )
    run_files = [name for name in paths.written().values() if Path(name).is_file()]
    resolve_inputs(run_files, [output], read_as="run outputs", option="OUT")  # never over them
    manifest = read_manifest(paths.manifest)
    model, coder = model_and_coder(manifest)
    settings = (manifest.get("config") or {}).get("predict") or {}
    dictionary = load_actor_dictionary(actors or settings.get("actors"), model["folder"])

    result = EventExport(output=Path(output))
    articles = read_articles(paths.articles, result.problems)

    def records() -> Iterator[dict]:
        for line, raw in iter_output_rows(paths.passages, EVENT_COLUMNS):
            row = raw if isinstance(raw, Problem) else check_passage_row(paths.passages, line, raw)
            if isinstance(row, Problem):
                if row is raw:  # the reader's own problem (invalid JSON, a bad byte)
                    row = Problem(row.path, row.line, row.field, f"{row.message}; {FIX_HINT}")
                result.problems.append(row)
            elif row.label not in PLOVER_CODING:
                result.no_stance += 1
            elif row.holder in ("", UNKNOWN):
                result.no_actor += 1
            else:
                record = make_record(row, articles.get(row.doc_id, {}), dictionary, model, coder)
                result.events.update(record["event"])
                result.undated += record["date"] is None
                yield record

    write_jsonl(records(), output)
    return result
