from study_hub.search.crosslingual import default_glossary


def test_longest_terms_win_and_plurals_and_apostrophes_match() -> None:
    groups = default_glossary().translate("How long is the term of a Villagers’ Committee, and can members be re-elected?")
    assert ["村民委员会"] in groups and ["连选连任"] in groups
    assert ["成员"] in groups  # "members": plural of a listed word
    assert not any(words[0] == "委员会" for words in groups if words != ["村民委员会"])


def test_unknown_words_give_nothing() -> None:
    assert default_glossary().translate("the quick brown fox") == []
