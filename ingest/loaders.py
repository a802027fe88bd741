"""Reading policy files from disk into text, whatever their encoding."""

from pathlib import Path

from charset_normalizer import from_bytes

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}


class IngestError(ValueError):
    """A file that cannot be ingested; the message says why and what to do."""


def decode_text(data: bytes, name: str) -> str:
    """Decode bytes as UTF-8 (with or without BOM), UTF-16 with BOM, or the detected legacy encoding."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"{name}: 无法识别文本编码，请另存为 UTF-8 后再导入")
    return str(best)


def read_policy_text(path: Path) -> str:
    """Read a plain-text or Markdown policy file; other types get a clear error."""
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise IngestError(
            f"{path}: 暂不支持 {path.suffix or '无扩展名'} 文件，请转换为 .txt 或 .md（UTF-8/GBK 均可）后再导入"
        )
    data = path.read_bytes()
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(f"{path}: 看起来是二进制文件而不是文本，请确认文件类型")
    text = decode_text(data, str(path))
    if not text.strip():
        raise IngestError(f"{path}: 文件为空，没有可导入的内容")
    return text
