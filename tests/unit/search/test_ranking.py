"""The fitted hybrid ranking: features, query signals, the model file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from study_hub.index.keyword import GroupPresence
from study_hub.search import ranking


def _presence(held: list[list[bool]], idf: list[float], title: list[list[bool]] | None = None) -> GroupPresence:
    held_array = np.array(held, dtype=bool).reshape(len(held), len(idf))
    title_array = np.zeros_like(held_array) if title is None else np.array(title, dtype=bool)
    return GroupPresence(held=held_array, in_title=title_array, idf=np.array(idf))


def _candidates(text="小区 物业", semantic=("a", "b"), full=(("b", 8.0),), partial=(("c", 2.0),),
                held=((True, False), (True, True), (False, True)), **options) -> ranking.Candidates:
    def evidence_of(ids):
        assert ids == ["a", "b", "c"]  # meaning first, then keyword, each once
        best = np.array([0.9, 0.8, 0.5])
        own = np.array([0.85, 0.8, 0.5])
        return ranking.Evidence(_presence([list(h) for h in held], [1.0, 3.0]), best, own,
                                years=np.array([2025, 2019, 0]), levels=["central", "provincial", "municipal"],
                                documents=["d1", "d2", "d1"])

    return ranking.candidates(text, list(semantic), list(full), list(partial), evidence_of,
                              filtered=options.get("filtered", False), english=options.get("english", False))


def _column(found: ranking.Candidates, name: str) -> np.ndarray:
    return found.features[:, ranking.FEATURES.index(name)]


def test_candidate_features_say_what_each_ranker_found() -> None:
    found = _candidates()
    assert found.ids == ["a", "b", "c"]
    assert found.rankers == [("semantic",), ("semantic", "keyword"), ("keyword",)]
    assert _column(found, "semantic").tolist() == pytest.approx([0.0, -0.1, -0.4])
    assert _column(found, "window_gain").tolist() == pytest.approx([0.05, 0.0, 0.0])
    assert _column(found, "semantic_rank").tolist() == pytest.approx(-np.log1p([0, 1, ranking.POOL]))
    assert _column(found, "keyword_rank").tolist() == pytest.approx(-np.log1p([ranking.POOL, 0, 1]))
    assert _column(found, "keyword_score").tolist() == pytest.approx([0.0, 1.0, 0.25])
    assert _column(found, "full_match").tolist() == [0.0, 1.0, 0.0]
    # Coverage weighs rare words (idf 3) above common ones (idf 1).
    assert _column(found, "coverage").tolist() == pytest.approx([0.25, 1.0, 0.75])
    assert found.signals.best_coverage == pytest.approx(1.0)
    assert found.semantic == ["a", "b"] and found.keyword_full == ["b"] and found.keyword == ["b", "c"]


@pytest.mark.parametrize(
    "text, question, term_list",
    [
        ("小区没有物业公司怎么管", 1.0, 0.0),
        ("村里的分红还有没有她的份", 1.0, 0.0),
        ("一个居委会一般管多少户人家", 1.0, 0.0),
        ("网格化 服务管理 事项清单", 0.0, 1.0),
        ("街道办事处", 0.0, 0.0),
        ("How long is the term of a villagers' committee?", 1.0, 0.0),
    ],
)
def test_query_signals_tell_questions_from_term_lists(text, question, term_list) -> None:
    signals = ranking.query_signals(text, _presence([[True]], [1.0]), full_count=3, filtered=False)
    assert (signals.question, signals.term_list) == (question, term_list)
    assert signals.full_matches == pytest.approx(np.log1p(3))


def test_years_and_levels_the_query_names_are_matched_with_the_document() -> None:
    found = _candidates(text="2025年中央财政赤字率是多少")
    assert _column(found, "year_named").tolist() == [1.0, -1.0, -1.0]
    assert _column(found, "level_named").tolist() == [1.0, -1.0, -1.0]
    plain = _candidates(text="物业费谁来交，上涨了20%和3.5%")
    assert not _column(plain, "year_named").any() and not _column(plain, "level_named").any()
    assert ranking.named_levels("What deficit-to-GDP ratio did the central government plan?") == {"central"}
    assert ranking.named_levels("省里和市级的规定") == {"provincial", "municipal"}


def test_interactions_are_products_of_candidate_and_query_features() -> None:
    found = _candidates(text="小区的物业怎么管", english=True)
    assert np.allclose(_column(found, "coverage*question"), _column(found, "coverage"))
    assert np.allclose(_column(found, "keyword_rank*term_list"), 0.0)
    assert np.allclose(_column(found, "semantic*english"), _column(found, "semantic"))
    assert np.allclose(_column(found, "english"), 1.0)


def test_no_candidates_give_an_empty_matrix() -> None:
    nothing = ranking.Evidence(_presence([], [1.0]), np.zeros(0), np.zeros(0), np.zeros(0), [], [])
    found = ranking.candidates("物业", [], [], [], lambda ids: nothing, filtered=False)
    assert found.ids == [] and found.features.shape == (0, len(ranking.FEATURES))


def test_model_ranks_by_its_score_and_survives_a_round_trip(tmp_path) -> None:
    size = len(ranking.FEATURES)
    weights = np.zeros(size)
    weights[ranking.FEATURES.index("keyword_score")] = 1.0
    model = ranking.RankingModel(ranking.FEATURES, np.zeros(size), np.ones(size), weights, 0.0, "test")
    found = _candidates()
    assert [pid for pid, _, _ in model.rank(found)] == ["b", "c", "a"]
    model.save(tmp_path / "ranker.json")
    again = ranking.RankingModel.load(tmp_path / "ranker.json")
    assert [pid for pid, _, _ in again.rank(found)] == ["b", "c", "a"]


def test_a_model_fitted_on_other_features_is_refused(tmp_path) -> None:
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps({"features": ["semantic"], "mean": [0], "scale": [1], "weights": [1], "bias": 0}))
    with pytest.raises(ValueError, match="fit_ranker"):
        ranking.RankingModel.load(path)


def test_the_shipped_model_matches_the_features() -> None:
    model = ranking.default_model()
    assert model.features == ranking.FEATURES
    assert np.all(np.isfinite(model.weights)) and np.all(model.scale > 0)
