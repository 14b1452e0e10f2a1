"""Query-time synonyms: expansions for the keyword side, and the official words a question is embedded with."""

from study_hub.search.synonyms import default_synonyms
from study_hub.segment.tokens import default_analyzer


def test_everyday_words_expand_to_the_words_of_the_regulations() -> None:
    synonyms = default_synonyms()
    assert ("志愿者",) in synonyms.expand("义工")
    assert ("居民", "委员会") in synonyms.expand("居委会") or ("居民委员会",) in synonyms.expand("居委会")


def test_a_question_is_annotated_with_the_official_words_once_and_bounded() -> None:
    synonyms, analyzer = default_synonyms(), default_analyzer()
    annotated = synonyms.annotate("做过义工的经历，以后考公的时候人家看不看", analyzer)
    assert annotated.startswith("做过义工的经历，以后考公的时候人家看不看（")
    assert "志愿者" in annotated and "公务员考录" in annotated
    inside = annotated[annotated.index("（") + 1:-1].split("、")
    assert len(inside) == len(set(inside)) <= 8


def test_a_question_without_everyday_words_is_embedded_as_it_is() -> None:
    assert default_synonyms().annotate("基层治理体系", default_analyzer()) == "基层治理体系"
