"""Refuse answers that would generate a broken project, before any file is written.

Each problem is reported on one line that starts with the variable's name,
and the exit status is non-zero, so cookiecutter stops and removes the
half-made project directory.
"""

import json
import re
import sys
from pathlib import Path

# Cookiecutter renders this file with Jinja before running it. The answers
# arrive as JSON (``tojson``) quoted once more as a string literal (the
# second ``tojson``), so no quote, backslash or non-ASCII letter in an answer
# can break out of it.
ANSWERS = json.loads({{cookiecutter | tojson | tojson}})

# The generated project parses sizes with its own sizes.py; use that very
# code, and the one package name rule. ``template_dir`` is the template's
# absolute path (``_repo_dir`` may be relative to another directory).
sys.path.insert(0, {{template_dir | tojson}})
from local_extensions import sizes, slug_problem  # noqa: E402


def problems(answers: dict[str, str]) -> list[str]:
    found = []
    if problem := slug_problem(answers["project_slug"]):
        found.append(f"project_slug: {problem}")

    parsed = {}
    for name in ("max_upload_size", "chunk_size"):
        try:
            parsed[name] = sizes.parse_size(answers[name])
        except ValueError as error:
            found.append(f"{name}: {error}")
    if len(parsed) == 2 and parsed["chunk_size"] > parsed["max_upload_size"]:
        found.append(
            f"chunk_size: {answers['chunk_size']} is larger than max_upload_size ({answers['max_upload_size']})"
        )

    for name in ("storage_path", "temp_path"):
        value = answers[name]
        if not value.strip() or any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
            found.append(f"{name}: {value!r} is not a usable path (empty, or holds control characters)")
    if Path(answers["storage_path"]) == Path(answers["temp_path"]):
        found.append("temp_path: must differ from storage_path")

    for extension in answers["allowed_extensions"].replace(",", " ").split():
        if not re.fullmatch(r"\.?[^\W_]+", extension):
            found.append(f"allowed_extensions: {extension!r} is not an extension (write them like: mp3 ogg flac)")
    if answers["access"] not in ("accounts", "open"):
        found.append(f"access: {answers['access']!r} is neither accounts nor open")
    secret = answers["__session_secret"]
    if answers["access"] == "accounts" and not re.fullmatch(r"[A-Za-z0-9]{32,}", secret):
        found.append("__session_secret: must be at least 32 letters and digits (a re-bake records the first one)")
    return found


if __name__ == "__main__":
    errors = problems(ANSWERS)
    for error in errors:
        print(f"ERROR: {error}", file=sys.stderr)
    sys.exit(1 if errors else 0)
