"""Refuse answers that would generate a broken project, before any file is written.

Each problem is reported on one line that starts with the variable's name,
and the exit status is non-zero, so cookiecutter stops and removes the
half-made project directory.
"""

import json
import re
import sys

# Cookiecutter renders this file with Jinja before running it. The answers
# arrive as JSON (``tojson``) quoted once more as a string literal (the
# second ``tojson``), so no quote, backslash or non-ASCII letter in an answer
# can break out of it.
ANSWERS = json.loads({{cookiecutter | tojson | tojson}})

# The generated project checks its settings with its own rules.py (sizes,
# paths, extensions); run that very code, and the one package name rule. ``template_dir`` is the template's
# absolute path (``_repo_dir`` may be relative to another directory).
sys.path.insert(0, {{template_dir | tojson}})
from local_extensions import rules, slug_problem  # noqa: E402


def problems(answers: dict[str, str]) -> list[str]:
    found = []
    if problem := slug_problem(answers["project_slug"]):
        found.append(f"project_slug: {problem}")

    def check(name: str, rule, *args):
        """``rule(*args)``; a refusal becomes a line naming ``name``, and the result ``None``."""
        try:
            return rule(*args)
        except ValueError as error:
            found.append(f"{name}: {error}")
            return None

    max_size = check("max_upload_size", rules.size, answers["max_upload_size"])
    chunk_size = check("chunk_size", rules.size, answers["chunk_size"])
    if max_size is not None and chunk_size is not None:
        check("chunk_size", rules.chunk_size_within, chunk_size, max_size, "max_upload_size")

    storage_path = check("storage_path", rules.path, answers["storage_path"])
    temp_path = check("temp_path", rules.path, answers["temp_path"])
    if storage_path is not None and temp_path is not None:
        check("temp_path", rules.distinct_paths, temp_path, storage_path, "storage_path")

    check("allowed_extensions", rules.extensions, answers["allowed_extensions"])
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
