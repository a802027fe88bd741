"""Document metadata read from the text itself: the title for now."""

import re

from ingest.structure import Block

DOCUMENT_TYPES = (
    "意见|通知|办法|规定|条例|决定|方案|规划|细则|纲要|指引|指南|法|公告|通告|批复|措施|规则|制度|准则|要点|报告"
)
TITLE_IN_QUOTES = re.compile(rf"《([^《》]{{4,100}}(?:{DOCUMENT_TYPES})(?:（[^）]*）)?)》")
TITLE_SEARCH_BLOCKS = 5
# A document's own name stands near the start of a block; a 《…》 deep inside a paragraph names another.
TITLE_SEARCH_CHARS = 150
# A flattened page starts with its headline, then a space, then the text.
LEADING_TITLE = re.compile(r"^([^\s。！？；，,]{6,40}?)[ \u3000\u00a0]+\S")


def extract_title(blocks: list[Block], fallback: str) -> str:
    """The document's title: a flattened page's headline, a 《…》 document name near the top, the first heading, or `fallback`."""
    leading = LEADING_TITLE.match(blocks[0].text) if blocks else None
    if leading and blocks[0].kind != "heading":
        return leading.group(1)
    for block in blocks[:TITLE_SEARCH_BLOCKS]:
        match = TITLE_IN_QUOTES.search(block.text[:TITLE_SEARCH_CHARS])
        if match:
            return match.group(1)
    for index, block in enumerate(blocks[:3]):
        if block.kind == "heading":
            title = block.text.lstrip("#").strip()
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            if following is not None and following.text.startswith("——"):
                title += following.text
            return title
    return fallback
