"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user must act on: ``problem`` says what is wrong, ``fix`` what to do."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem
        self.fix = fix

    def one_line(self) -> str:
        return " ".join(f"error: {self.problem}. Fix: {self.fix}.".split())


class EmbeddingServiceError(UserError):
    """The embedding service failed (after retries, or with an error retrying won't fix).

    Slack listeners catch it: silence in channels, a short apology when asked directly.
    """
