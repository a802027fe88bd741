#!/usr/bin/env bash
# Install PolicyQA from this bundle with no network: bash install.sh
set -euo pipefail
cd "$(dirname "$0")"
want_python=@PYTHON_VERSION@
want_arch=@ARCH@

arch=$(uname -m)
if [ "$arch" != "$want_arch" ]; then
    echo "错误：本离线包（@BUNDLE@）为 $want_arch 构建，本机是 $arch；请在同架构的联网机器上运行 scripts/offline-bundle.sh 重新打包。" >&2
    exit 1
fi
python=${PYTHON:-}
if [ -z "$python" ]; then
    for candidate in "python$want_python" python3; do
        if command -v "$candidate" > /dev/null && [ "$("$candidate" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')" = "$want_python" ]; then
            python=$candidate
            break
        fi
    done
fi
if [ -z "$python" ]; then
    found=$(python3 --version 2>&1 || echo "没有 python3")
    echo "错误：需要 Python $want_python（本包的 wheel 为它构建；本机：$found）。请安装 Python $want_python，或用 PYTHON=/path/to/python$want_python bash install.sh 指定。" >&2
    exit 1
fi

began=$(date +%s)
echo "用 $("$python" --version) 创建 .venv 并从 wheelhouse 安装（不联网）……"
"$python" -m venv .venv
# no index, no config file of this machine (its indexes or constraints): only the wheels shipped here
PIP_CONFIG_FILE=/dev/null .venv/bin/pip install --disable-pip-version-check -q --no-index --find-links wheelhouse policyqa
echo "安装完成，用时 $(( $(date +%s) - began )) 秒。试问一个问题（首次运行会导入自带的示例文件）："
HF_HUB_OFFLINE=1 .venv/bin/python app.py ask "先行先试中出现的失误能否免责？"
echo
echo "启动网页问答：.venv/bin/python app.py（默认 http://127.0.0.1:7860）"
