"""Errors that carry what failed, where, and how to fix it.

Library code raises these; only the CLI turns them into a message and an exit code, so the same
failure reads the same from Python and from the shell.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_DATA_ERROR = 1
EXIT_USAGE = 2
EXIT_GATE_FAILED = 3


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file, located by file, line and field."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class PipelineError(Exception):
    """Base class: a user or data error the CLI reports with exit code 1."""

    exit_code = EXIT_DATA_ERROR


class DataError(PipelineError):
    """Input data is invalid; `problems` lists every located problem found."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        self.problems = list(problems or [])
        super().__init__(message)

    def __str__(self) -> str:
        lines = [self.args[0]] + [str(p) for p in self.problems]
        return "\n".join(lines)


class ConfigError(PipelineError):
    """A config file or override is invalid; the message names the dotted key."""


class ModelFolderError(PipelineError):
    """A model folder is missing files or is inconsistent."""


class QualityGateError(PipelineError):
    """Evaluation metrics fell below a configured floor (exit code 3)."""

    exit_code = EXIT_GATE_FAILED
