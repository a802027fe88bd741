"""System programs some tests drive (a browser, LibreOffice, CJK fonts).

They are installed before pytest by `scripts/test-tools`, part of the README's test command: a test
run never changes the machine, and a test whose program is missing fails saying what to install.
"""

import shutil

import pytest


def require_programs(programs: dict[str, list[str]]) -> None:
    """Fail, naming the Debian packages and the script that installs them, unless each program is on PATH."""
    missing = {name: packages for name, packages in programs.items() if shutil.which(name) is None}
    if missing:
        packages = " ".join(sorted({p for ps in missing.values() for p in ps}))
        pytest.fail(f"需要 {', '.join(missing)}：请先运行 scripts/test-tools（或 apt-get install {packages}）")
