"""Fixtures the CLI tests borrow from the checklist tests (a project with a web app)."""

from tests.checklists.conftest import project, web_app  # noqa: F401
