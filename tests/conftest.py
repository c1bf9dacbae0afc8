"""Shared helpers for the template's tests.

``bake`` wraps pytest-cookies: it generates a project from this template
with some answers and hands back the result. Projects baked with the
default answers are cached per session, one per template language, because
many tests only read their files.
"""

from collections.abc import Callable
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parent.parent
LANGUAGES = ("jinja2", "chameleon", "mako")


@pytest.fixture(scope="session")
def baked(cookies_session) -> Callable[..., Path]:
    """Bake the template (cached per set of answers) and return the project path."""
    cache: dict[tuple, Path] = {}

    def bake(**answers: str) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in cache:
            result = cookies_session.bake(extra_context=answers)
            assert result.exit_code == 0, result.exception
            cache[key] = Path(result.project_path)
        return cache[key]

    return bake


def text_files(project: Path) -> list[Path]:
    """Every file of ``project`` that is text (all of them, in this template)."""
    return sorted(path for path in project.rglob("*") if path.is_file())


def relative_files(project: Path) -> set[str]:
    return {path.relative_to(project).as_posix() for path in text_files(project)}
