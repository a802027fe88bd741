"""System programs some tests need (a browser, LibreOffice, CJK fonts), installed from Debian when missing.

The README's test command is the only thing CI runs, so tests that drive a real browser or render a
Word file install what they need here, once, when running as root on a fresh Debian machine.
"""

import os
import shutil
import subprocess

import pytest

APT_TIMEOUT_S = 1200


def ensure_programs(programs: dict[str, list[str]]) -> None:
    """Make each program (name -> Debian packages providing it) available, or fail saying what to install."""
    missing = {name: packages for name, packages in programs.items() if shutil.which(name) is None}
    if not missing:
        return
    packages = sorted({p for ps in missing.values() for p in ps})
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(f"需要 {', '.join(missing)}：请先安装 Debian 软件包 {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_S)
        if result.returncode != 0:
            pytest.fail(f"安装 {' '.join(packages)} 失败：{result.stderr[-2000:]}")
    still = [name for name in missing if shutil.which(name) is None]
    if still:
        pytest.fail(f"安装后仍找不到 {', '.join(still)}")
