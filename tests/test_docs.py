"""The README's settings table lists exactly the settings the code has."""

import re

from settings import REPO_ROOT, Settings


def test_readme_documents_every_setting_and_no_other():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `POLICYQA_([A-Z_]+)` \|", readme, re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_every_setting_has_a_description():
    assert all(field.description for field in Settings.model_fields.values())
