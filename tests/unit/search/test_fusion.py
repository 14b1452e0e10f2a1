from study_hub.search.fusion import RankedList, interleave, weighted_rrf


def test_weighted_rrf_adds_reciprocal_ranks_and_names_the_rankers() -> None:
    fused = weighted_rrf([RankedList("keyword", ["a", "b", "c"], 1.0), RankedList("semantic", ["c", "d"], 2.0)],
                         k=10)
    scores = {item: score for item, score, _ in fused}
    assert abs(scores["c"] - (1 / 13 + 2 / 11)) < 1e-12
    assert [item for item, _, _ in fused] == ["c", "d", "a", "b"]
    assert dict((item, rankers) for item, _, rankers in fused)["c"] == ("keyword", "semantic")


def test_a_ranker_listed_twice_counts_twice_but_is_named_once() -> None:
    fused = weighted_rrf([RankedList("keyword", ["a"]), RankedList("keyword", ["a", "b"])], k=0)
    assert fused[0] == ("a", 2.0, ("keyword",))


def test_interleave_with_shares_and_no_duplicates() -> None:
    assert interleave([["z1", "z2", "z3", "z4"], ["e1", "z1", "e2"]], shares=(2, 1)) == \
        ["z1", "z2", "e1", "z3", "z4", "e2"]
    assert interleave([[], ["a"]]) == ["a"]

