"""What the stages made, handed forward: each product once, those taken back read only when asked for."""

from __future__ import annotations

import pytest

from weike.builder.contracts.context import AlreadyMade, LaterProducts, Made


class _Kept(LaterProducts):
    """Products of an earlier build, counting how often they are read back."""

    def __init__(self, products: tuple, *, readable: bool = True) -> None:
        self.keys = tuple((kind, key) for kind, key, _ in products)
        self._products = products if readable else ()
        self.reads = 0

    def read(self):
        self.reads += 1
        return self._products


def test_products_added_later_are_read_back_once_when_first_asked_for_in_the_order_added():
    made = Made()
    made.add("notes", "a/01", "<p>a</p>")
    kept = _Kept((("notes", "b/01", "<p>b</p>"), ("probe", "b/01", {"duration": 60})))
    made.add_later(kept)
    made.add("notes", "c/01", "<p>c</p>")
    assert kept.reads == 0 and made.get("notes", "a/01") == "<p>a</p>" and made.get("notes", "x") is None
    assert kept.reads == 0
    assert made.get("probe", "b/01") == {"duration": 60} and kept.reads == 1
    assert list(made.of("notes").items()) == [("a/01", "<p>a</p>"), ("b/01", "<p>b</p>"), ("c/01", "<p>c</p>")]
    assert kept.reads == 1
    with pytest.raises(AlreadyMade):
        made.add("notes", "b/01", "again")


def test_every_reader_reads_back_what_was_added_later_and_none_sees_it_unread():
    for read in (lambda made: dict(made.of("notes")), lambda made: made.products(),
                 lambda made: Made().keep_new(made)):
        made = Made()
        kept = _Kept((("notes", "b/01", "<p>b</p>"),))
        made.add_later(kept)
        read(made)
        assert kept.reads == 1 and made.products() == [("notes", "b/01", "<p>b</p>")]
    with pytest.raises(AlreadyMade):
        made.add_later(_Kept((("notes", "b/01", "twice"),)))


def test_a_product_that_cannot_be_read_back_is_not_made():
    made = Made()
    made.add_later(_Kept((("notes", "b/01", "<p>b</p>"),), readable=False))
    assert made.get("notes", "b/01") is None and dict(made.of("notes")) == {} and made.products() == []
    made.add("notes", "b/01", "<p>made again by the stage that needs it</p>")
    assert made.get("notes", "b/01") == "<p>made again by the stage that needs it</p>"
