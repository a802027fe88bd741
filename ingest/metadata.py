"""Document metadata read from the text itself: the title for now."""

import re

from ingest.structure import Block

DOCUMENT_TYPES = (
    "意见|通知|办法|规定|条例|决定|方案|规划|细则|纲要|指引|指南|法|公告|通告|批复|措施|规则|制度|准则|要点|报告"
)
TITLE_IN_QUOTES = re.compile(rf"《([^《》]{{4,100}}(?:{DOCUMENT_TYPES})(?:（[^）]*）)?)》")
TITLE_SEARCH_BLOCKS = 5


def extract_title(blocks: list[Block], fallback: str) -> str:
    """The document's title: a 《…》 document name near the top, else the first heading, else `fallback`."""
    for block in blocks[:TITLE_SEARCH_BLOCKS]:
        match = TITLE_IN_QUOTES.search(block.text)
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
