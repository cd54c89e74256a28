"""Errors that are part of mognad's interface.

A :class:`MognadError` is a user mistake (bad file, bad codebook, unknown study): the CLI prints its
message without a traceback and exits with code 2. Anything else is a bug in mognad.
"""

from __future__ import annotations


class MognadError(Exception):
    """A problem with the user's input, explained in one message.

    Parameters
    ----------
    message : str
        What is wrong and what would be right.
    """

    exit_code = 2


class CodebookError(MognadError):
    """The codebook YAML is not valid; the message names the key."""


class ValidationError(MognadError):
    """An input file is rejected; the message names file, row, column, value and what is valid.

    Parameters
    ----------
    message : str
        The full, human-readable message.
    problems : list of dict, optional
        Machine-readable problems, each with ``file``, ``row``, ``column``, ``value`` and
        ``expected``.
    """

    def __init__(self, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.problems = problems or []


class StudyError(MognadError):
    """The study folder or its store is missing or not a mognad study."""


__all__ = ["CodebookError", "MognadError", "StudyError", "ValidationError"]
