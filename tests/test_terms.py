from cce.terms import identifier_terms, index_terms, name_terms, query_terms, stem


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
    terms = query_terms("How does the HTTPBearer security scheme work?")
    assert terms[:4] == ["httpbearer", "http", "bearer", "security"]
    assert "scheme" in terms
    assert not {"how", "does", "the", "work"} & set(terms)
    assert {"how", "does", "it"} <= set(query_terms("how does it"))
    assert query_terms("jsonable_encoder")[:2] == ["jsonableencoder", "jsonable"]
    assert "encoder" in query_terms("jsonable_encoder")


def test_inflections_meet_at_a_light_stem():
    assert stem("batched") == stem("batches") == stem("batch") == "batch"
    assert stem("cached") == stem("caches") == stem("cache")
    assert stem("dependencies") == stem("dependency")
    assert stem("stopped") == stem("stops") == "stop"
    assert stem("routing") == stem("routes") == stem("route")


def test_stems_keep_apart_words_code_keeps_apart():
    # Porter's full algorithm makes all three `observ`: in mobx they name three different things.
    assert len({stem("observable"), stem("observer"), stem("observed")}) == 3
    assert stem("handler") != stem("handled")
    assert stem("sha256") == "sha256" and stem("déjà") == "déjà" and stem("ids") == "ids"


def test_a_word_and_its_stem_are_both_terms_the_word_first():
    assert index_terms("startBatch()").split() == ["startbatch", "start", "batch"]
    assert index_terms("batched").split() == ["batched", "batch"]
    terms = query_terms("Which changes are batched?")
    assert terms.index("batched") < terms.index("batch")
    assert terms.index("changes") < terms.index("chang")


def test_adjacent_query_words_also_match_as_one_identifier():
    assert "staticfiles" in query_terms("How does FastAPI serve static files?")
    assert "apikey" in query_terms("api key dependencies")


def test_name_terms_are_one_indexed_term_per_word_of_a_name():
    assert name_terms("magit-log-all-branches") == ["magit", "log", "all", "branches"]
    assert name_terms("jsonable_encoder") == ["jsonableencoder"]
    assert name_terms("HTTPBearer") == ["httpbearer"]
    # Each is a term of the source that defines the name.
    indexed = index_terms("(defun magit-log-all-branches ()").split()
    assert all(term in indexed for term in name_terms("magit-log-all-branches"))
