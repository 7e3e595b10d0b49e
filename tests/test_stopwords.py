"""Built-in stopword lists keep the words that carry sentiment unless asked not to."""

from __future__ import annotations

import pytest

from vecgraft.errors import DataError
from vecgraft.text import Tokenizer
from vecgraft.text.stopwords import (
    CLITICS,
    SENTIMENT_WORDS,
    describe_stopwords,
    is_language_code,
    resolve_stopwords,
)


@pytest.mark.parametrize("word", ["not", "no", "never", "but", "very", "too", "don't"])
def test_english_list_keeps_negations_and_intensifiers(word) -> None:
    assert word not in resolve_stopwords("en")
    assert word in resolve_stopwords("en-all")


_UNAPOSTROPHED = "dont didnt cant wont isnt doesnt wouldnt aint ain't shan't hardly noone unless"


@pytest.mark.parametrize("word", _UNAPOSTROPHED.split())
def test_english_list_keeps_negations_written_without_apostrophe(word) -> None:
    """Reviews write "dont"/"didnt"/"cant"; stopwordsiso lists them, so "en" dropped them
    ("I dont like it" -> ["like"]) while promising to keep negations."""
    assert word not in resolve_stopwords("en")
    assert word in resolve_stopwords("en-all")


def test_negation_is_kept_through_the_tokenizer_without_apostrophe() -> None:
    tok = Tokenizer(lower=True, stopwords="en")
    assert tok("I dont like it, it hardly helps") == ["dont", "like", ",", "hardly", "helps"]


def test_english_list_drops_the_clitics_the_default_rule_splits_off() -> None:
    """The list names "it's", "they're", "I'm" whole, but the default rule splits them into
    "it" "'s": the pieces "'s", "'re", "'d", "'m" survived as frequent junk tokens. "n't"
    is a negation: "en" keeps it, "en-all" drops it as it drops "don't"."""
    text = "it's a film that's good, they're sure I'd say I'm in, we'll see; don't"
    tok = Tokenizer(lower=True, stopwords="en")
    assert tok(text) == ["film", "good", ",", "sure", ",", ";", "n't"]
    assert Tokenizer(lower=True, stopwords="en-all")(text) == ["film", ",", ",", ";"]


def test_stopwords_match_either_apostrophe() -> None:
    """A list written with ' also removes the ’ spelling (and the other way round): curly
    "it’s" and its clitic "’s" stayed although "it's" was a stopword."""
    text = "it’s a film that’s good, they’re sure we’ll like it"
    assert Tokenizer(lower=True, stopwords="en")(text) == ["film", "good", ",", "sure", "like"]
    whitespace = Tokenizer("whitespace", lower=True, stopwords="en")
    assert whitespace("it’s a film that’s good it's") == ["film", "good"]
    assert Tokenizer("whitespace", stopwords=["don’t"])("don't don’t stop") == ["stop"]


def test_chinese_list_keeps_comparative_negations() -> None:
    zh = resolve_stopwords("zh")
    assert {"不如", "不尽", "不至于", "除非"}.isdisjoint(zh)
    assert {"不如", "除非"} <= resolve_stopwords("zh-all")


def test_chinese_list_keeps_negations() -> None:
    zh = resolve_stopwords("zh")
    assert {"不", "没有", "但是", "很", "太"}.isdisjoint(zh)
    assert {"的", "了", "是"} <= zh
    assert {"不", "但是"} <= resolve_stopwords("zh-all")


def test_sentiment_is_kept_through_the_tokenizer() -> None:
    tok = Tokenizer(lower=True, stopwords="en")
    assert tok("This is not a very good film") == ["not", "very", "good", "film"]
    assert Tokenizer(lower=True, stopwords="en-all")("not a very good film") == ["film"]


def test_description_counts_what_is_kept() -> None:
    import stopwordsiso

    listed = set(stopwordsiso.stopwords("en")) - {"herse”", "himse”", "itse”", "myse”"}
    full = len(listed | CLITICS["en"])
    kept = len(SENTIMENT_WORDS["en"] & (listed | CLITICS["en"]))
    topics = (
        "; it drops topic words too (computer, research, million, world, year, new, ...): "
        "a file with one word per line gives a narrower list"
    )
    assert describe_stopwords("en") == (
        f"stopwordsiso 'en': {full - kept} words; {kept} sentiment words "
        "kept (use 'en-all' to remove them too)" + topics
    )
    assert describe_stopwords("en-all") == f"stopwordsiso 'en': all {full} words removed" + topics
    assert describe_stopwords("zh").endswith("(use 'zh-all' to remove them too)")
    assert describe_stopwords(None) == "no stopwords removed"


def test_all_suffix_is_a_language_code_not_a_file(tmp_path, monkeypatch) -> None:
    assert is_language_code("en-all") and is_language_code("zh")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "en-all").write_text("foo\n")
    assert not is_language_code("en-all")
    assert resolve_stopwords("en-all") == frozenset({"foo"})


def test_a_folder_named_like_a_language_code_does_not_hide_the_list(tmp_path, monkeypatch):
    """`pretrain --out zh --stopwords zh` read the built-in list once, then failed on the
    next run with "zh: Is a directory" (its own output folder)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "zh").mkdir()
    assert is_language_code("zh")
    assert {"的", "了"} <= resolve_stopwords("zh")
    config = Tokenizer("jieba", stopwords="zh").config
    assert config["stopwords_source"] == "stopwordsiso:zh"
    assert set(config["stopwords"]) == resolve_stopwords("zh")


def test_a_saved_tokenizer_keeps_its_stopwords_when_the_built_in_list_changes(monkeypatch):
    # the config holds the words, not the name: a run keeps dropping what it dropped in
    # training though a later vecgraft (or stopwordsiso) changes what "en" means
    from vecgraft.text import stopwords

    saved = Tokenizer(stopwords="en", lower=True).config
    monkeypatch.setitem(stopwords.SENTIMENT_WORDS, "en", frozenset({"the"}))
    assert "the" not in Tokenizer(stopwords="en", lower=True).stopwords  # the list changed
    assert Tokenizer.from_config(saved)("the film is not bad") == ["film", "not", "bad"]


def test_a_tokenizer_saved_with_a_list_name_gets_that_lists_old_words():
    # configs written before the words were stored name the list only ("en"); its words
    # then were stopwordsiso's minus the first kept set: no clitics, "dont" dropped, and
    # a straight apostrophe matched only itself
    old = {**Tokenizer(lower=True).config, "stopwords": "en", "stopwords_source": None}
    tok = Tokenizer.from_config(old)
    assert tok("it's dont not it’s") == ["'s", "not", "’s"]
    assert tok.stopwords_source == "stopwordsiso:en"
    new = Tokenizer(stopwords="en", lower=True)
    assert new("it's dont not it’s") == ["dont", "not"]


def test_stopwords_are_normalised_like_the_tokens() -> None:
    """A traditional, full-width or decomposed stopword used to miss its normalised token."""
    zh = Tokenizer("jieba", stopwords=["這個", "說", "２"], simplified=True, halfwidth=True)
    assert zh("這個 人 說 好 ２") == ["人", "好"]
    en = Tokenizer(stopwords=["cafe\u0301", "Ｔｈｅ", "1st"], nfkc=True, digits="#")
    assert en("The café was 1st 2nd") == ["was", "#nd"]


def test_a_stopword_file_saved_with_a_bom_removes_its_first_word(tmp_path) -> None:
    """The BOM used to stay on the first word ("\\ufeffthe"), which then matched nothing."""
    path = tmp_path / "stop.txt"
    path.write_bytes("the\r\n# comment\r\nCAT\r\n".encode("utf-8-sig"))
    assert Tokenizer(stopwords=path)("The cat sat") == ["sat"]
    path.write_bytes("the\nCAT\n".encode("utf-8-sig") + b"\xff\n")
    with pytest.raises(DataError, match=r"stop\.txt:3: stopword file is not UTF-8"):
        Tokenizer(stopwords=path)


def test_language_codes_ignore_case() -> None:
    """A code in capitals found stopwordsiso's list but not the sentiment words to keep
    (keyed "en"), so --stopwords EN silently removed "not" and "never"; "zh-ALL" was read
    as a file name."""
    assert resolve_stopwords("EN") == resolve_stopwords("en")
    assert "not" not in resolve_stopwords("En")
    assert resolve_stopwords("zh-ALL") == resolve_stopwords("zh-all")
    assert describe_stopwords("EN") == describe_stopwords("en")


def test_a_gbk_stopword_file_says_how_to_convert_it(tmp_path) -> None:
    """Chinese stopword lists often circulate in GBK; the error said only 'not valid UTF-8'."""
    path = tmp_path / "hit_stopwords.txt"
    path.write_bytes("的\n了\n而且\n".encode("gbk"))
    with pytest.raises(DataError) as info:
        Tokenizer("jieba", stopwords=path)
    message = str(info.value)
    assert "hit_stopwords.txt:1: stopword file is not UTF-8" in message
    assert "GB18030" in message and "的" in message and "iconv -f GB18030 -t UTF-8" in message


@pytest.mark.parametrize("lang", ["en", "en-all", "zh", "zh-all"])
def test_built_in_lists_hold_no_garbled_entries(lang) -> None:
    """stopwordsiso's English list holds 'herse”', 'himse”', 'itse”', 'myse”' (the words
    herself ... myself are there too): no tokenizer of ours keeps a quotation mark in a word."""
    words = resolve_stopwords(lang)
    assert not {w for w in words if set(w) & set('"“”„‟«»') and len(w) > 1}
    if lang.startswith("en"):
        assert {"herself", "himself", "itself", "myself"} <= words
        assert not {"herse”", "himse”", "itse”", "myse”"} & words


def test_entries_with_spaces_are_kept_for_pretokenized_words() -> None:
    """Vietnamese words hold spaces ("cứ việc"), as underthesea's pretokenized tokens do:
    a filter of entries with whitespace had dropped 379 of the 645 (ko 96, ru 4, fa 3)."""
    import stopwordsiso

    assert len(resolve_stopwords("vi")) == len(stopwordsiso.stopwords("vi")) == 645
    assert "cứ việc" in resolve_stopwords("vi") and "이 정도의" in resolve_stopwords("ko")
    words = ["chớ chi", "Hà Nội", "cứ việc", "đẹp"]
    assert Tokenizer("pretokenized", stopwords="vi")(words) == ["Hà Nội", "đẹp"]


@pytest.mark.parametrize("kind", ["regex", "char", "jieba"])
def test_garbled_entries_never_matched_a_token(kind) -> None:
    """Why dropping them changes no result of these tokenizers: the quotation mark is split
    off ('herse”' -> 'herse', '”'), so no token ever equalled the garbled entry."""
    text = "“herse” himse” itse”s myse”” she said 我说herse”"
    tokens = Tokenizer(kind, lower=True)(text)
    assert not [t for t in tokens if len(t) > 1 and set(t) & set("“”")]
    old = Tokenizer(kind, lower=True, stopwords=[*resolve_stopwords("en"), "herse”", "myse”"])
    assert old(text) == Tokenizer(kind, lower=True, stopwords="en")(text)


def test_the_english_list_drops_topic_words_as_its_docs_say(tmp_path) -> None:
    """The docs warn that "en" removes topic words (a BBC News tech article loses "computer",
    "microsoft", "research") and say a file gives a narrower list: both hold."""
    topic = "computer microsoft research million billion world information system year new web"
    assert set((topic + " state").split()) <= resolve_stopwords("en")
    text = "Microsoft research: the new computer system"
    assert Tokenizer(lower=True, stopwords="en")(text) == [":"]
    (tmp_path / "my_stopwords.txt").write_text("# articles\nthe\na\nof\n", encoding="utf-8")
    narrow = Tokenizer(lower=True, stopwords=str(tmp_path / "my_stopwords.txt"))
    assert narrow(text) == ["microsoft", "research", ":", "new", "computer", "system"]
    assert Tokenizer(lower=True, stopwords=["the", "a", "of"])(text) == narrow(text)


def test_a_big5_stopword_file_says_how_to_convert_it(tmp_path) -> None:
    """Traditional Chinese lists come in Big5; the error said only 'not valid UTF-8'."""
    path = tmp_path / "tw_stopwords.txt"
    path.write_bytes("的\n這個\n因為\n".encode("cp950"))
    with pytest.raises(DataError) as info:
        Tokenizer("jieba", stopwords=path)
    message = str(info.value)
    assert "reads as Big5 Chinese ('的 這個 因為')" in message and "GB18030" not in message
    assert "iconv -f CP950 -t UTF-8" in message


def test_a_gbk_stopword_file_of_ellipses_is_not_called_big5(tmp_path) -> None:
    """'……' in GBK read as Big5 '＃＃', which counted as common punctuation where … did not."""
    path = tmp_path / "stop.txt"
    path.write_bytes("不错\n……\n".encode("gbk"))
    with pytest.raises(DataError) as info:
        Tokenizer("jieba", stopwords=path)
    message = str(info.value)
    assert "reads as GB18030 Chinese ('不错 ……')" in message and "Big5" not in message
    assert "iconv -f GB18030 -t UTF-8" in message
