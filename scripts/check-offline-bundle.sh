#!/usr/bin/env bash
# Check the offline bundle's claim instead of assuming it (too slow for CI: a few minutes and ~2 GB):
#
#     bash scripts/check-offline-bundle.sh [WORK_DIR]
#
# builds the bundle, unpacks it elsewhere, installs it in a network namespace with no network at all
# (unshare -n, as root), asks the sample question there, and moves a knowledge base into it with
# export-kb / import-kb. Prints the archive's size and the install time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
question="先行先试中出现的失误能否免责？"

began=$(date +%s)
bash "$root/scripts/offline-bundle.sh" "$work/out"
built=$(( $(date +%s) - began ))
archive=$(ls "$work"/out/policyqa-offline-*.tar.gz)
mkdir -p "$work/intranet"
tar -xzf "$archive" -C "$work/intranet"
folder=$(ls -d "$work"/intranet/policyqa-offline-*)

echo "== 无网络安装（unshare -n）"
began=$(date +%s)
(cd "$folder" && unshare -n env -u PIP_FIND_LINKS -u PIP_INDEX_URL bash install.sh) | tee "$work/install.log"
installed=$(( $(date +%s) - began ))

echo "== 无网络提问"
(cd "$folder" && unshare -n env HF_HUB_OFFLINE=1 .venv/bin/python app.py ask "$question" --json) > "$work/answer.json"
python3 - "$work/answer.json" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
assert not answer["refused"] and "先行先试" in answer["answer"], answer["answer"]
print("答案：", answer["answer"].splitlines()[0], "｜引用：", answer["citations"][0]["section"])
PY

echo "== 知识库迁移：本机 export-kb，离线机 import-kb"
source_data="$work/source-data"
(cd "$root" && POLICYQA_DATA_DIR="$source_data" .venv/bin/python app.py ingest data/corpus > /dev/null 2>&1 \
    && POLICYQA_DATA_DIR="$source_data" .venv/bin/python app.py export-kb "$work/kb.tar.gz")
(cd "$folder" && unshare -n env POLICYQA_DATA_DIR="$work/moved" POLICYQA_INGEST_SAMPLE_WHEN_EMPTY=false .venv/bin/python app.py import-kb "$work/kb.tar.gz")
docs_here=$(cd "$root" && POLICYQA_DATA_DIR="$source_data" .venv/bin/python app.py docs --json 2>/dev/null | python3 -c 'import json,sys; print(sorted((d["doc_id"], d["passages"]) for d in json.load(sys.stdin)))')
docs_there=$(cd "$folder" && unshare -n env POLICYQA_DATA_DIR="$work/moved" .venv/bin/python app.py docs --json 2>/dev/null | python3 -c 'import json,sys; print(sorted((d["doc_id"], d["passages"]) for d in json.load(sys.stdin)))')
[ "$docs_here" = "$docs_there" ] || { echo "错误：迁移后的文档不同" >&2; exit 1; }
answer_here=$(cd "$root" && POLICYQA_DATA_DIR="$source_data" .venv/bin/python app.py ask "$question" --json 2>/dev/null)
answer_there=$(cd "$folder" && unshare -n env POLICYQA_DATA_DIR="$work/moved" .venv/bin/python app.py ask "$question" --json 2>/dev/null)
[ "$answer_here" = "$answer_there" ] || { echo "错误：迁移后的答案不同" >&2; exit 1; }
echo "迁移后文档与答案一致"

echo "== 结果"
echo "离线包：$(basename "$archive")，$(du -h "$archive" | cut -f1)（$(du -m "$archive" | cut -f1) MB），打包 ${built} 秒"
echo "无网络安装（含首次提问）：${installed} 秒；安装后目录 $(du -sh "$folder" | cut -f1)"
