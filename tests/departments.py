"""Two departments' knowledge bases, as the tests of #22 build them: zzb (组织部) with the Hubei opinion, rst (人社厅) with
an allowance notice."""

from conftest import HUBEI

EXEMPTION = "先行先试中出现的失误能否免责？"
ALLOWANCE = "一级至四级工伤职工的伤残津贴每月增加多少？"
RST_POLICY = (
    "关于调整工伤保险伤残津贴的通知\n一、调整范围\n"
    "2024年12月31日前已按月领取伤残津贴的一级至四级工伤职工，伤残津贴每人每月增加150元。\n"
)


def two_departments(settings):
    """The installation's bases with zzb and rst created and filled (the service of each through KnowledgeBases)."""
    from assistant import create_service
    from assistant.bases import KnowledgeBases

    bases = KnowledgeBases(settings, create_service)
    bases.create("zzb", "组织部")
    bases.create("rst", "人社厅")
    bases.service("zzb").ingest([HUBEI])
    bases.service("rst").ingest_texts([{"text": RST_POLICY, "source": "rst-allowance.txt", "doc_id": "rst-allowance"}])
    return bases
