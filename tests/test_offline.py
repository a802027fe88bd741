"""The offline installer's checks, run as the bundle ships it (the whole bundle is checked by scripts/check-offline-bundle.sh)."""

import platform
import subprocess
from pathlib import Path

from settings import REPO_ROOT


def rendered_installer(folder: Path, python_version: str, arch: str) -> Path:
    """install.sh with the bundle's placeholders filled as scripts/offline-bundle.sh fills them."""
    text = (REPO_ROOT / "scripts" / "offline" / "install.sh").read_text(encoding="utf-8")
    text = text.replace("@PYTHON_VERSION@", python_version).replace("@ARCH@", arch).replace("@BUNDLE@", "policyqa-offline-test")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "install.sh").write_text(text, encoding="utf-8")
    return folder / "install.sh"


def run(installer: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(installer)], capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", **env})


def test_a_machine_of_another_architecture_is_told_so_before_anything_is_installed(tmp_path):
    installer = rendered_installer(tmp_path / "bundle", "3.11", "riscv64")
    done = run(installer)
    assert done.returncode == 1 and "riscv64" in done.stderr and platform.machine() in done.stderr
    assert not (tmp_path / "bundle" / ".venv").exists()


def test_a_python_of_another_version_is_told_which_one_to_install(tmp_path):
    installer = rendered_installer(tmp_path / "bundle", "3.99", platform.machine())
    done = run(installer, PYTHON="")
    assert done.returncode == 1 and "需要 Python 3.99" in done.stderr and "PYTHON=" in done.stderr
    assert not (tmp_path / "bundle" / ".venv").exists()


def test_the_bundle_script_parses_and_without_a_folder_says_how_to_call_it():
    done = subprocess.run(["bash", "-n", str(REPO_ROOT / "scripts" / "offline-bundle.sh")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    missing = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "offline-bundle.sh")], capture_output=True, text=True)
    assert missing.returncode != 0 and "usage: bash scripts/offline-bundle.sh OUT_DIR" in missing.stderr
