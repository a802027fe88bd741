"""Office files that need more than python-docx: legacy Word/WPS and Excel/WPS files through LibreOffice, and spreadsheets.

LibreOffice converts a copy in a temporary folder of its own, under a time limit, with a profile of its
own (so two conversions never share a lock); the user's file is never touched. A spreadsheet's rows
become list items that keep their headers (「情形：…，处理：…。」), so each row is a passage, quoted and cited alone.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

from ingest.errors import IngestError

CONVERSION_TIMEOUT_S = 180
# A .doc/.xls (and WPS's .wps/.et) is an OLE compound file; a newer WPS may save OOXML (a zip) under the old name.
OLE_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")
ZIP_SIGNATURE = b"PK\x03\x04"
# Legacy formats and what LibreOffice converts each to.
CONVERTED = {".doc": "docx", ".wps": "docx", ".xls": "xlsx", ".et": "xlsx"}
# A sheet of more rows is refused (split it): 100 000 rows would be hours of embedding for one upload.
MAX_SHEET_ROWS = 20_000
MAX_CELL_CHARS = 2_000


def soffice() -> str:
    """The LibreOffice program, or an error naming the package to install."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        raise IngestError(
            "读取 .doc/.wps/.xls/.et 文件需要 LibreOffice：请管理员安装（Debian/统信/麒麟：apt-get install "
            "libreoffice-writer-nogui libreoffice-calc-nogui），或用 WPS/Word 另存为 .docx/.xlsx 后再导入"
        )
    return found


def converted_copy(path: Path, target: str, folder: Path) -> Path:
    """The file converted by LibreOffice to `target` (docx, xlsx) inside `folder`."""
    source = folder / ("source" + path.suffix.lower())
    shutil.copyfile(path, source)
    profile = (folder / "profile").as_uri()
    command = [soffice(), f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nologo",
               "--convert-to", target, "--outdir", str(folder / "out"), str(source)]
    try:
        subprocess.run(command, capture_output=True, timeout=CONVERSION_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as error:
        raise IngestError(f"{path}: LibreOffice 转换超过 {CONVERSION_TIMEOUT_S} 秒仍未完成，已放弃；请另存为 .docx/.xlsx 后再导入") from error
    result = folder / "out" / f"source.{target}"
    if not result.exists() or result.stat().st_size == 0:
        raise IngestError(f"{path}: LibreOffice 无法读取此文件（可能已损坏或加密）；请用 WPS/Word 打开后另存为 .{target} 再导入")
    return result


def read_legacy(path: Path, read_docx, read_sheet) -> str:
    """A .doc/.wps (as Word) or .xls/.et (as a spreadsheet) file's text, through a LibreOffice conversion."""
    target = CONVERTED[path.suffix.lower()]
    with path.open("rb") as file:
        head = file.read(8)
    if not head.startswith((OLE_SIGNATURE, ZIP_SIGNATURE)):  # LibreOffice would read any other bytes as plain text
        kind = "Word 97-2003 或 WPS 文字" if target == "docx" else "Excel 97-2003 或 WPS 表格"
        raise IngestError(f"{path}: 不是有效的 {kind} 文件（文件头不符）；请用 WPS/Word/Excel 打开后另存为 .{target} 再导入")
    with tempfile.TemporaryDirectory(prefix="policyqa-convert-") as folder:
        converted = converted_copy(path, target, Path(folder))
        return read_docx(converted) if target == "docx" else read_sheet(converted)


def cell_text(value) -> str:
    """A cell's value as text: dates as YYYY-MM-DD, whole numbers without .0, long text cut."""
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())[:MAX_CELL_CHARS]


def row_line(headers: list[str], cells: list[str]) -> str | None:
    """One row as a line that keeps its headers: 「情形：…，处理：…。」 (cells without a header stand alone).

    Fields are joined by a comma, not a semicolon, so that the row is one sentence, quoted whole.
    """
    parts = [f"{h}：{c}" if h else c for h, c in zip(headers, cells, strict=False) if c]
    if not parts:
        return None
    line = "，".join(part.rstrip("。；;，,") for part in parts)
    return line if line.endswith(("。", "！", "？")) else line + "。"


def read_xlsx(path: Path) -> str:
    """A workbook's sheets: each sheet a heading, its first non-empty row the headers, each other row a line."""
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise IngestError(f"{path}: 不是有效的 .xlsx 文件（{error}），请用 Excel 或 WPS 重新另存为 .xlsx") from error
    lines, rows_read = [], 0
    try:
        for sheet in workbook.worksheets:
            headers = None
            lines.append(f"## {sheet.title}")
            for row in sheet.iter_rows(values_only=True):
                cells = [cell_text(v) for v in row]
                if not any(cells):
                    continue
                rows_read += 1
                if rows_read > MAX_SHEET_ROWS:
                    raise IngestError(
                        f"{path}: 表格超过 {MAX_SHEET_ROWS} 行，一次导入过大：请按类别拆分成几个文件（或删去无关的行）后再导入"
                    )
                if headers is None:
                    headers = cells
                    continue
                line = row_line(headers, cells)
                if line:
                    lines.append("- " + line)  # a list item: each row a passage of its own
    finally:
        workbook.close()
    return "\n".join(lines)
