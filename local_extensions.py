"""Jinja filters for this template (cookiecutter loads them via ``_extensions``).

Answers are free text: a project name may hold quotes, backslashes or
non-ASCII letters. Every place an answer lands in a file with a syntax of its
own goes through the filter for that syntax, so the generated files stay
valid whatever was typed.

Sizes are parsed, and the answers that become settings are checked, by the
generated project's own ``sizes.py`` and ``rules.py``, loaded from the
template tree: the hook, the ini files and the running application agree on
what ``1.5GiB`` means, and on what a valid setting is, because they run the
same code.

The package name rule lives here too, once: ``package_name`` derives the
default slug from any project name, and the pre-generation hook refuses an
explicitly given slug with ``slug_problem``.
"""

import json
import keyword
import logging
import re
import sys
import types
import unicodedata
from pathlib import Path

from cookiecutter.utils import simple_filter
from jinja2.ext import Extension

_PACKAGE_DIR = Path(__file__).parent / "{{cookiecutter.project_slug}}" / "{{cookiecutter.project_slug}}"

# The generated package, as far as the template needs it: pure modules, free of Jinja.
_TEMPLATE_PACKAGE = "_template_package"


def _load_from_template(name: str) -> types.ModuleType:
    """The generated package's module ``name``, run from its template source.

    The module may import its siblings relatively (``from .sizes import ...``)
    if they were loaded first: they live in a package of their own name here
    (``_template_package``), so nothing of the template tree is imported the
    usual way. Executed from
    source rather than imported, so no ``__pycache__`` appears in the template
    tree (it would be copied into every generated project).
    """
    source = _PACKAGE_DIR / f"{name}.py"
    module = types.ModuleType(f"{_TEMPLATE_PACKAGE}.{name}")
    module.__package__ = _TEMPLATE_PACKAGE
    # Loaded afresh each time (this template's source, not another's loaded
    # earlier in the same process), and registered before it runs, for the
    # modules loaded after it to import.
    sys.modules[module.__name__] = module
    exec(compile(source.read_text(encoding="utf-8"), str(source), "exec"), module.__dict__)
    return module


_package = sys.modules.setdefault(_TEMPLATE_PACKAGE, types.ModuleType(_TEMPLATE_PACKAGE))
_package.__path__ = []  # a package, whose modules are loaded only by _load_from_template
sizes = _load_from_template("sizes")
rules = _load_from_template("rules")

TEMPLATE_DIR = Path(__file__).resolve().parent

# Names the package must not shadow: the standard library (with its
# ``test`` package, which stdlib_module_names leaves out), the project's
# dependencies, and its own tests directory.
RESERVED = frozenset(sys.stdlib_module_names) | {
    "chameleon",
    "hypothesis",
    "jinja2",
    "magic",
    "mako",
    "markupsafe",
    "multipart",
    "paste",
    "pastedeploy",
    "plaster",
    "plaster_pastedeploy",
    "playwright",
    "pyramid",
    "pyramid_chameleon",
    "pyramid_jinja2",
    "pyramid_mako",
    "pytest",
    "python_multipart",
    "requests",
    "setuptools",
    "test",
    "tests",
    "venusian",
    "waitress",
    "webob",
    "webtest",
    "zope",
    *("alembic", "psycopg", "psycopg_binary", "pyramid_retry", "pyramid_tm", "sqlalchemy", "transaction"),  # catalogue
    *("argon2", "argon2_cffi"),  # accounts
}

# TOML basic strings must escape these (TOML 1.0, "String").
_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


@simple_filter
def py_str(value: str) -> str:
    """A Python string literal holding ``value``, quoted as ``ruff format`` would quote it.

    JSON's string escapes are a subset of Python's, so a JSON string that
    keeps non-ASCII letters as they are is also a valid Python literal. Like
    ruff (and black), it takes single quotes when that needs fewer escapes:
    ``'O\\'Brien "Uploads"'``, so a generated project stays ruff-clean.
    """
    value = str(value)
    literal = json.dumps(value, ensure_ascii=False)
    if value.count('"') <= value.count("'"):
        return literal
    # In JSON's output every quote is escaped as \" and every backslash as \\.
    return "'" + literal[1:-1].replace('\\"', '"').replace("'", "\\'") + "'"


@simple_filter
def toml_str(value: str) -> str:
    """A TOML basic string holding ``value``."""
    out = []
    for char in str(value):
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@simple_filter
def ini_value(value: str) -> str:
    """``value`` for a PasteDeploy ini file, where ``%`` starts an interpolation."""
    return str(value).replace("%", "%%")


@simple_filter
def size_in_bytes(value: str) -> int:
    """``4GB`` as ``4294967296`` (the hook has already refused bad sizes)."""
    return sizes.parse_size(str(value))


# Private (unprompted) variables whose value must survive a re-bake.
RECORDED_PRIVATE = ("__session_secret",)


@simple_filter
def answers_json(context: dict) -> str:
    """The answers given at generation time, as JSON, for re-generating later.

    The session secret is drawn once, at the first bake, and recorded with the
    answers, so a re-bake from this file gives the same project.
    """
    answers = {key: value for key, value in context.items() if not key.startswith("_") or key in RECORDED_PRIVATE}
    return json.dumps(answers, indent=4, ensure_ascii=False) + "\n"


def slug_problem(slug: str) -> str | None:
    """Why ``slug`` cannot name the generated package, or ``None`` if it can."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", slug) or keyword.iskeyword(slug):
        return (
            f"{slug!r} is not a valid package name "
            "(lower-case letters, digits and underscores, not starting with a digit, not a keyword)"
        )
    if slug in RESERVED:
        return f"{slug!r} would shadow the module of the same name; choose another name"
    return None


def slug_for(name: str) -> str:
    """A valid package name derived from any project name (``My Uploads!`` gives ``my_uploads``).

    Letters lose their accents (NFKD, then ASCII: ``Ünïcödé`` gives
    ``unicode``) and what has no ASCII form is dropped; quotes are dropped
    (``O'Brien`` gives ``obrien``); every other run of punctuation or space
    becomes one underscore. A name that starts with a digit gets a
    ``project_`` prefix, a keyword or a module the package would shadow a
    ``_project`` suffix, and a name with nothing left is ``project``.
    """
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "_", re.sub("['\"`]", "", ascii_text)).strip("_") or "project"
    if slug[0].isdigit():
        slug = "project_" + slug
    if slug_problem(slug):
        slug += "_project"
    return slug


@simple_filter
def package_name(value: str) -> str:
    """``slug_for``, as a filter: the default ``project_slug``."""
    return slug_for(str(value))


class TemplateDir(Extension):
    """The Jinja global ``template_dir``: this template's directory, absolute.

    The hooks import this module from there. cookiecutter's ``_repo_dir`` is
    the path as it was typed (``.`` for ``cookiecutter .``), relative to a
    directory the hooks do not run in.
    """

    def __init__(self, environment) -> None:
        super().__init__(environment)
        environment.globals["template_dir"] = str(TEMPLATE_DIR)


def _quiet_failed_pre_gen_hook(record: logging.LogRecord) -> bool:
    """Drop cookiecutter's log line and traceback for a failed pre-generation hook.

    The hook has already said what is wrong, one line per answer; the
    traceback cookiecutter adds is of its own code and says nothing more.
    """
    return not (str(record.msg).startswith("Stopping generation because") and record.args == ("pre_gen_project",))


# Imported more than once (by cookiecutter, by the hook, by the tests): add the filter once.
_hooks_logger = logging.getLogger("cookiecutter.hooks")
if not any(getattr(each, "__name__", "") == _quiet_failed_pre_gen_hook.__name__ for each in _hooks_logger.filters):
    _hooks_logger.addFilter(_quiet_failed_pre_gen_hook)
