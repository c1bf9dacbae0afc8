"""Keep only the chosen template language's page templates, then say what to do next.

The rule, visible in the template tree: ``templates/`` holds every page in
each language (``home.jinja2``, ``home.pt``, ``home.mako``...); the project
keeps the files whose extension is its language's.

The closing message is for a person who ran cookiecutter (or ``make
project``): the commands that install, test and serve the new project.
``make serve`` does all of that itself and bakes into a scratch directory
first (scripts/bake-serve), so it sets ``UPLOADS_BAKED_BY=make-serve`` in
the environment and the hook says nothing; bake-serve reports what it did.
"""

import json
import os
import shlex
from pathlib import Path

# See pre_gen_project.py for why answers arrive through tojson, twice.
ANSWERS = json.loads({{cookiecutter | tojson | tojson}})

# The value of the UPLOADS_BAKED_BY environment variable that silences the message.
MAKE_SERVE = "make-serve"


ACCOUNT_STEP = """

Make yourself an account (it asks for a password):

    .venv/bin/{slug}-users development.ini add YOUR_NAME --admin"""


def next_steps(project: Path, answers: dict[str, str]) -> str:
    """The message a person sees after a bake: every command, in order, as it must be typed."""
    account_step = ACCOUNT_STEP.format(slug=answers["project_slug"]) if answers["access"] == "accounts" else ""
    return f"""
Your project "{answers["project_name"]}" is ready in {project}

Next steps (python3 with its venv module, and a connection to PyPI):

    cd {shlex.quote(str(project))}
    python3 -m venv .venv
    .venv/bin/pip install -e ".[testing]"
    .venv/bin/alembic -c development.ini upgrade head

(The last one creates the catalogue, SQLite in var/; run it again after updates.){account_step}

Run its tests (the browser tests need Chromium, see README.md):

    .venv/bin/pytest

Serve it, then open http://localhost:6543 and drop some files on the page:

    .venv/bin/pserve development.ini --reload

(`.venv/bin/pserve development.ini http_port=8080 --reload` serves on port 8080.)
"""


# Files only a project with accounts keeps (``access`` = ``accounts``), relative to the package.
ACCOUNTS_ONLY = [
    "accounts.py",
    "policy.py",
    "throttle.py",
    "users.py",
    "models/user.py",
    "alembic/versions/0002_accounts.py",
    "alembic/versions/0003_owner_foreign_keys.py",
    "alembic/versions/0004_session_generation.py",
    "views/accounts.py",
    "templates/account.jinja2",
    "templates/account.mako",
    "templates/account.pt",
    "templates/signin.jinja2",
    "templates/signin.mako",
    "templates/signin.pt",
]
# The same, relative to the project.
ACCOUNTS_ONLY_TESTS = [
    "tests/test_accounts.py",
    "tests/test_accounts_browser.py",
    "tests/test_accounts_migrations.py",
    "tests/test_throttle.py",
    "tests/test_tus_accounts.py",
]


def keep_access_files(project: Path, answers: dict[str, str]) -> None:
    """An ``open`` project carries no account code: remove the accounts' files."""
    if answers["access"] == "accounts":
        return
    package = project / answers["project_slug"]
    for name in ACCOUNTS_ONLY:
        (package / name).unlink()
    for name in ACCOUNTS_ONLY_TESTS:
        (project / name).unlink()


def keep_language_templates(project: Path, answers: dict[str, str]) -> None:
    keep = "." + answers["__template_extension"]
    for template in (project / answers["project_slug"] / "templates").iterdir():
        if template.suffix != keep:
            template.unlink()


if __name__ == "__main__":
    project = Path.cwd()
    keep_access_files(project, ANSWERS)
    keep_language_templates(project, ANSWERS)
    if os.environ.get("UPLOADS_BAKED_BY") != MAKE_SERVE:
        print(next_steps(project, ANSWERS))
