"""scraper.core.charset: which encoding a body is in, including wrongly declared ones."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scraper.core.charset import (
    charset_from_content_type,
    decode_html,
    detect_legacy,
    encoding_for_label,
    meta_charset,
)

FIXTURES = Path(__file__).parent / "fixtures" / "http"

# Characters windows-1252 can encode (Latin-1 letters plus its 0x80-0x9F punctuation).
CP1252_TEXT = st.text(
    alphabet=st.characters(codec="cp1252", exclude_categories=("Cs", "Cc")), min_size=1, max_size=200
)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/html; charset=utf-8", "utf-8"),
        ('text/html; charset="UTF-8"', "utf-8"),
        ("text/html;charset=ISO-8859-1", "cp1252"),  # WHATWG: latin-1 means windows-1252
        ("text/html; charset=us-ascii", "cp1252"),
        ("text/html; charset=Shift_JIS", "cp932"),
        ("text/html; charset=gb2312", "gb18030"),
        ("text/html; charset=koi8-r", "koi8-r"),
        ("text/html; charset=x-made-up", None),
        ("text/html", None),
        (None, None),
        ("", None),
    ],
)
def test_charset_from_content_type(content_type: str | None, expected: str | None) -> None:
    assert charset_from_content_type(content_type) == expected


def test_encoding_for_label_unknown_and_empty() -> None:
    assert encoding_for_label("no-such-charset") is None
    assert encoding_for_label("") is None
    assert encoding_for_label(" Windows-1251 ") == "cp1251"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<meta charset="windows-1251">', "cp1251"),
        (b"<META CHARSET=utf-8>", "utf-8"),
        (b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">', "cp1252"),
        (b'<meta charset="utf-16">', "utf-8"),  # a meta tag read as ASCII cannot be UTF-16
        (b"<p>charset=koi8-r is mentioned in text</p>", None),
        (b"", None),
    ],
)
def test_meta_charset(head: bytes, expected: str | None) -> None:
    assert meta_charset(b"<html><head>" + head + b"</head>") == expected


def test_meta_charset_only_looks_at_the_first_4kb() -> None:
    body = b"<html>" + b" " * 5000 + b'<meta charset="koi8-r">'
    assert meta_charset(body) is None


def test_bom_wins_over_header() -> None:
    body = codecs.BOM_UTF8 + "Valdaï".encode()
    assert decode_html(body, "text/html; charset=koi8-r") == ("Valdaï", "utf-8-sig")
    body16 = codecs.BOM_UTF16_LE + "Валдай".encode("utf-16-le")
    assert decode_html(body16, None) == ("Валдай", "utf-16")


def test_header_charset_used_when_body_fits() -> None:
    body = "Путин".encode("koi8-r")
    assert decode_html(body, "text/html; charset=koi8-r") == ("Путин", "koi8-r")


def test_utf8_page_declared_latin1_in_header_decodes_as_utf8() -> None:
    body = (FIXTURES / "utf8-no-meta.html").read_bytes()
    text, encoding = decode_html(body, "text/html; charset=iso-8859-1")
    assert encoding == "utf-8"
    assert "Путин — Валдай" in text
    assert "“quotes”" in text


def test_cp1252_page_declared_utf8_in_header_falls_back_to_meta() -> None:
    body = (FIXTURES / "cp1252-meta.html").read_bytes()
    text, encoding = decode_html(body, "text/html; charset=utf-8")
    assert encoding == "cp1252"
    assert "Noël à Valdaï" in text
    assert "qu’il «\u00a0réviserait\u00a0» sa position – déjà" in text


def test_cp1252_without_any_declaration_is_detected() -> None:
    text = "Les élèves étudiaient à l’école – « très » sérieusement… " * 4
    assert decode_html(text.encode("cp1252"), "text/html; charset=utf-8") == (text, "cp1252")
    assert detect_legacy(text.encode("cp1252")) == "cp1252"


def test_cp1252_undefined_bytes_fall_back_to_latin1() -> None:
    body = b"caf\xe9 \x81"  # 0x81 is undefined in windows-1252; browsers show U+0081
    assert decode_html(body, "text/html; charset=iso-8859-1") == ("café \x81", "iso8859-1")


def test_ascii_and_empty_bodies() -> None:
    assert decode_html(b"<p>plain</p>", None) == ("<p>plain</p>", "utf-8")
    assert decode_html(b"", "text/html; charset=iso-8859-1") == ("", "cp1252")
    assert decode_html(b"", None) == ("", "utf-8")


def test_undecodable_bytes_never_raise() -> None:
    text, encoding = decode_html(bytes(range(256)) * 3, "text/html; charset=utf-8")
    assert isinstance(text, str)
    assert encoding


@given(st.text(max_size=300))
def test_utf8_with_wrong_latin1_header_round_trips(text: str) -> None:
    body = text.encode("utf-8")
    assert decode_html(body, "text/html; charset=iso-8859-1")[0] == text


@given(st.text(max_size=300))
def test_utf8_with_correct_header_round_trips(text: str) -> None:
    assert decode_html(text.encode("utf-8"), "text/html; charset=utf-8") == (text, "utf-8")


@given(CP1252_TEXT, st.sampled_from(["windows-1252", "iso-8859-1", "latin1"]))
def test_cp1252_with_meta_tag_round_trips(text: str, label: str) -> None:
    body = f'<html><head><meta charset="{label}"></head><body>{text}</body></html>'.encode("cp1252")
    # Legacy bytes that happen to form valid UTF-8 are read as UTF-8 (documented heuristic).
    assume(body.isascii() or not _valid_utf8(body))
    decoded, encoding = decode_html(body, None)
    assert text in decoded
    assert encoding in ("cp1252", "utf-8")


@given(CP1252_TEXT)
def test_cp1252_with_wrong_utf8_header_and_meta_round_trips(text: str) -> None:
    body = f'<meta charset="windows-1252"><p>{text}</p>'.encode("cp1252")
    assume(not _valid_utf8(body))
    assert decode_html(body, "text/html; charset=utf-8") == (
        f'<meta charset="windows-1252"><p>{text}</p>',
        "cp1252",
    )


@given(
    st.binary(max_size=500), st.sampled_from([None, "text/html; charset=utf-8", "text/html; charset=latin1"])
)
def test_decode_html_is_total(body: bytes, content_type: str | None) -> None:
    text, encoding = decode_html(body, content_type)
    assert isinstance(text, str)
    assert codecs.lookup(encoding)


def _valid_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
