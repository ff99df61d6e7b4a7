from cce.terms import identifier_terms, index_terms, query_terms


def test_identifiers_split_into_words_and_keep_the_whole_name():
    assert identifier_terms("HTTPBearer") == ["httpbearer", "http", "bearer"]
    assert identifier_terms("get_openapi") == ["getopenapi", "get", "openapi"]
    assert identifier_terms("parseJSONValue") == ["parsejsonvalue", "parse", "json", "value"]
    assert identifier_terms("x") == ["x"]


def test_index_terms_cover_every_identifier_of_the_source():
    body = index_terms("def jsonable_encoder(obj): return URLPath(obj)")
    for term in ("jsonableencoder", "jsonable", "encoder", "urlpath", "url", "path", "obj", "return"):
        assert term in body.split()


def test_digits_stay_with_their_word_and_non_ascii_is_kept_whole():
    assert identifier_terms("sha256") == ["sha256"]
    assert "déjà" in index_terms("déjà vu")


def test_query_terms_drop_question_words_but_never_everything():
    assert query_terms("How does the HTTPBearer security scheme work?")[:5] == [
        "httpbearer",
        "http",
        "bearer",
        "security",
        "scheme",
    ]
    assert query_terms("how does it") == ["how", "does", "it"]
    assert query_terms("jsonable_encoder") == ["jsonableencoder", "jsonable", "encoder"]


def test_adjacent_query_words_also_match_as_one_identifier():
    assert "staticfiles" in query_terms("How does FastAPI serve static files?")
    assert "apikey" in query_terms("api key dependencies")
