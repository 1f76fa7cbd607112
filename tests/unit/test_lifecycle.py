"""The lifecycle's own console line: the classes the sweep found."""

from __future__ import annotations

from sweep import lifecycle


def test_classes_are_listed_up_to_ten():
    assert lifecycle.describe_classes(["neg", "pos"]) == "2 classes (neg, pos)"
    assert lifecycle.describe_classes([str(i) for i in range(12)]).endswith("8, 9, ... (2 more))")
