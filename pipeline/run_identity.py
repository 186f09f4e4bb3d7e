"""What identifies a predict run, and how to say what changed between two runs.

A run is its inputs as given, the files they reach (names, sizes, modification times), the output,
the model and the predict settings. Finished shards may be resumed only by the same run, and a
finished output is reused only for the same run: anything else would score an article twice or
miss one. When they differ, the message says what changed and how to start over.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline.config import PredictConfig
from pipeline.inputs import InputFile, describe_file_changes, files_digest


def run_identity(
    inputs: list[str],
    output: Path,
    model_hash: str,
    options: PredictConfig,
    files: list[InputFile],
) -> dict:
    """Everything that must match for two runs to share shards or outputs."""
    return {
        "inputs": list(inputs),
        "input_files": files_digest(files),
        "output": str(Path(output).resolve()),
        "model": model_hash,
        "predict": options.model_dump(mode="json"),
    }


def run_fingerprint(identity: dict) -> str:
    """A short hash of `run_identity`: equal fingerprints may resume each other."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def describe_changes(
    before: dict | None,
    after: dict,
    files_before: list[list] | None = None,
    files_after: list[InputFile] | None = None,
) -> str:
    """What differs between two run identities, in words (file names when both listings are
    known, else file counts and sizes)."""
    if not before:
        return "it was made by an earlier version of stance, which did not record its inputs"
    changes = []
    if before.get("inputs") != after["inputs"]:
        changes.append(f"the inputs given changed (were {before.get('inputs')})")
    if before.get("input_files") != after["input_files"]:
        if files_before is not None and files_after is not None:
            detail = describe_file_changes(files_before, files_after)
        else:
            old, new = before.get("input_files") or {}, after["input_files"]
            detail = (
                f"{old.get('count')} files, {old.get('bytes')} bytes then; "
                f"{new['count']} files, {new['bytes']} bytes now"
            )
        changes.append(f"the input files changed ({detail})")
    if before.get("output") != after["output"]:
        changes.append(f"the output changed (was {before.get('output')})")
    if before.get("model") != after["model"]:
        changes.append("the model changed (its folder hash differs)")
    old_settings = before.get("predict") or {}
    settings = [
        f"predict.{key}: {old_settings.get(key)!r} -> {value!r}"
        for key, value in after["predict"].items()
        if old_settings.get(key) != value
    ]
    if settings:
        changes.append(f"the settings changed ({', '.join(settings)})")
    return "; ".join(changes) or "its fingerprint differs"
