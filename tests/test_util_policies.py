"""`text_codec`: the one test of "a text encoding Python knows" behind every encoding option."""

from __future__ import annotations

import pytest

from vecgraft._util.policies import text_codec


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("utf-8", "utf-8"),
        ("UTF8", "utf-8"),
        ("utf_8", "utf-8"),
        ("CP852", "cp852"),
        ("IBM852", "cp852"),
        ("latin-1", "iso8859-1"),
        ("GBK", "gbk"),
        ("gb18030", "gb18030"),
        ("utf-8-sig", "utf-8-sig"),
    ],
)
def test_a_text_encoding_is_named_as_pythons_codec_registry_names_it(name, canonical):
    # one spelling per codec, so that a cache entry or a rerun's check sees one setting
    assert text_codec(name) == canonical


@pytest.mark.parametrize("name", ["rot13", "hex", "base64", "zlib"])
def test_a_bytes_to_bytes_or_str_to_str_codec_is_refused(name):
    # codecs.lookup knows them, but they decode no file's bytes to text
    with pytest.raises(LookupError, match=f"^'{name}' is not a text encoding"):
        text_codec(name)


def test_an_unknown_name_is_refused():
    with pytest.raises(LookupError, match=r"^unknown encoding: no-such-codec$"):
        text_codec("no-such-codec")


@pytest.mark.parametrize("name", [852, None, b"utf-8"])
def test_a_name_that_is_not_a_str_is_refused_as_a_lookup_error(name):
    # a LookupError as for any other refusal, so that each caller words one error
    with pytest.raises(LookupError, match=r" is not a codec name$"):
        text_codec(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("idna", "'idna' decodes no text: decoding with 'idna' codec failed"),
        ("undefined", "'undefined' decodes no text: decoding with 'undefined' codec failed"),
        ("utf-8\0", "'utf-8\\x00' decodes no text: embedded null character"),
    ],
)
def test_a_codec_that_decodes_nothing_is_refused_as_a_lookup_error(name, reason):
    # a UnicodeError (a ValueError) escaped every caller as a traceback
    with pytest.raises(LookupError) as err:
        text_codec(name)
    assert str(err.value).startswith(reason)
