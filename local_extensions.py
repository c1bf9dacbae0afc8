"""Jinja filters for this template (cookiecutter loads them via ``_extensions``).

Answers are free text: a project name may hold quotes, backslashes or
non-ASCII letters. Every place an answer lands in a file with a syntax of its
own goes through the filter for that syntax, so the generated files stay
valid whatever was typed.

Sizes are parsed by the generated project's own ``sizes.py``, loaded from
the template tree: the hooks, the ini files and the running application
agree on what ``1.5GiB`` means because they run the same code.
"""

import json
import types
from pathlib import Path

from cookiecutter.utils import simple_filter

_SIZES_PATH = Path(__file__).parent / "{{cookiecutter.project_slug}}" / "{{cookiecutter.project_slug}}" / "sizes.py"
# Executed from source rather than imported, so no __pycache__ appears in the
# template tree (it would be copied into every generated project).
sizes = types.ModuleType("sizes")
exec(compile(_SIZES_PATH.read_text(encoding="utf-8"), str(_SIZES_PATH), "exec"), sizes.__dict__)

# TOML basic strings must escape these (TOML 1.0, "String").
_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


@simple_filter
def py_str(value: str) -> str:
    """A double-quoted Python string literal holding ``value``.

    JSON's string escapes are a subset of Python's, so a JSON string that
    keeps non-ASCII letters as they are is also a valid Python literal.
    """
    return json.dumps(str(value), ensure_ascii=False)


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
