#!/usr/bin/env bash
# Make an offline install bundle for an air-gapped machine (run on a connected one):
#
#     bash scripts/offline-bundle.sh OUT_DIR
#
# writes OUT_DIR/policyqa-offline-<version>-<python>-<platform>.tar.gz: one folder holding the
# project, wheelhouse/ with a wheel of every package the README's run command installs (pinned to
# the versions in this checkout's tested .venv when there is one), install.sh and 离线安装说明.md.
# The wheelhouse is then resolved once with no index at all: a bundle that would need the network
# is never written.
set -euo pipefail

out=${1:?usage: bash scripts/offline-bundle.sh OUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}

version=$("$python" -c 'import re,sys; print(re.search(r"^version\s*=\s*\"([^\"]+)\"", open(sys.argv[1]).read(), re.M).group(1))' "$root/pyproject.toml")
pytag=$("$python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
pyversion=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
arch=$(uname -m)
name="policyqa-offline-$version-$pytag-linux_$arch"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/$name"
mkdir -p "$stage/wheelhouse" "$out"

echo "打包 $name（Python $pyversion，$arch）"
# the project as committed, plus files not yet committed that git does not ignore
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$stage/") 2>/dev/null \
    || { echo "错误：无法复制项目文件（需要在 git 仓库中运行）" >&2; exit 1; }

constraints="$work/constraints.txt"
if [ -x "$root/.venv/bin/pip" ]; then
    "$root/.venv/bin/pip" freeze --exclude-editable --disable-pip-version-check | grep -v '^-e ' > "$constraints"
    echo "版本：按已测试的 .venv 固定（$(wc -l < "$constraints") 个包）"
else
    : > "$constraints"
    echo "提示：没有 .venv，版本按 pyproject.toml 的范围现取"
fi

echo "下载并构建 wheel……"
if ! "$python" -m pip wheel --disable-pip-version-check -q -c "$constraints" -w "$stage/wheelhouse" "$root"; then
    echo "错误：有的包取不到 wheel（见上面 pip 的输出）；未生成离线包" >&2
    exit 1
fi

echo "离线校验：只用 wheelhouse 解析一遍依赖……"
if ! PIP_CONFIG_FILE=/dev/null "$python" -m pip download --disable-pip-version-check -q --no-index \
        --find-links "$stage/wheelhouse" -d "$work/check" policyqa; then
    echo "错误：wheelhouse 不完整，离线安装会需要网络；未生成离线包" >&2
    exit 1
fi
rm -rf "$work/check"

sed -e "s/@PYTHON_VERSION@/$pyversion/g" -e "s/@ARCH@/$arch/g" -e "s/@BUNDLE@/$name/g" \
    "$root/scripts/offline/install.sh" > "$stage/install.sh"
chmod +x "$stage/install.sh"
wheels=$(ls "$stage/wheelhouse" | wc -l)
wheel_mb=$(du -sm "$stage/wheelhouse" | cut -f1)
sed -e "s/@PYTHON_VERSION@/$pyversion/g" -e "s/@ARCH@/$arch/g" -e "s/@BUNDLE@/$name/g" \
    -e "s/@WHEELS@/$wheels/g" -e "s/@WHEEL_MB@/$wheel_mb/g" \
    "$root/scripts/offline/离线安装说明.md" > "$stage/离线安装说明.md"

archive="$out/$name.tar.gz"
tar -C "$work" -czf "$archive.part" "$name" && mv "$archive.part" "$archive"
echo "已生成 $archive（$(du -h "$archive" | cut -f1)，$wheels 个 wheel）"
