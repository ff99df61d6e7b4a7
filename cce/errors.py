"""Errors meant for people: the CLI prints their message as one line and exits with their code."""


class CceError(Exception):
    """A runtime failure the user can act on (exit status 1)."""

    exit_code = 1


class UsageError(CceError):
    """A bad argument or setting (exit status 2)."""

    exit_code = 2
