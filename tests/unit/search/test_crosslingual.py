from study_hub.search.crosslingual import Glossary, default_glossary


def test_longest_terms_win_and_plurals_and_apostrophes_match() -> None:
    groups = default_glossary().translate("How long is the term of a Villagers’ Committee, and can members be re-elected?")
    assert ["村民委员会"] in groups and ["连选连任"] in groups
    assert ["成员"] in groups  # "members": plural of a listed word
    assert not any(words[0] == "委员会" for words in groups if words != ["村民委员会"])


def test_unknown_words_give_nothing() -> None:
    assert default_glossary().translate("the quick brown fox") == []


def test_mined_terms_and_place_names_join_the_hand_written_glossary() -> None:
    groups = default_glossary().translate("What does the Supreme People's Procuratorate report to, and who in Qingdao?")
    assert ["最高人民检察院"] in groups and ["青岛市"] in groups


def test_the_hand_written_glossary_wins_over_mined_terms(tmp_path) -> None:
    hand = tmp_path / "hand.txt"
    mined = tmp_path / "mined.txt"
    hand.write_text("term = 任期 | 届\n", encoding="utf-8")
    mined.write_text("# mined\nterm = 两届  # dice 0.80, 5 articles\nauditor general = 审计长  # dice 1.00\n",
                     encoding="utf-8")
    glossary = Glossary(hand, mined)
    assert glossary.translate("the term of the auditor general") == [["任期", "届"], ["审计长"]]
