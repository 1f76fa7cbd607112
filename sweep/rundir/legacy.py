"""Runs made by older versions: what their saved files lack, filled in as those versions meant it."""

from __future__ import annotations

from typing import Any

from sweep.space import config


def upgrade(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved space (config.yaml as a dict) completed in place with what older versions left out.

    Keys added to the harness since count as their defaults, except `data.standardize`: a space
    saved before the key existed was made by 0.1, which had its own standardization.
    """
    if isinstance(saved.get("data"), dict) and "standardize" not in saved["data"]:
        saved["data"]["standardize"] = config.LEGACY_STANDARDIZATION
    return saved
