"""Keep only the chosen template language's page templates, then say what to do next.

The rule, visible in the template tree: ``templates/`` holds every page in
each language (``home.jinja2``, ``home.pt``, ``home.mako``...); the project
keeps the files whose extension is its language's.
"""

import json
from pathlib import Path

# See pre_gen_project.py for why answers arrive through tojson, twice.
ANSWERS = json.loads({{cookiecutter | tojson | tojson}})

project = Path.cwd()
keep = "." + ANSWERS["__template_extension"]
for template in (project / ANSWERS["project_slug"] / "templates").iterdir():
    if template.suffix != keep:
        template.unlink()

print(
    f"""
Your project "{ANSWERS["project_name"]}" is ready in {project}

Next steps:

    cd {project}
    python3 -m venv .venv
    .venv/bin/pip install -e ".[testing]"

Run its tests (the browser tests need Chromium, see README.md):

    .venv/bin/pytest

Serve it, then open http://localhost:6543 and drop some files on the page:

    .venv/bin/pserve development.ini --reload
"""
)
