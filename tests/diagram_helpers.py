"""Helpers for the diagram tests: render with the real ``dot`` and read the SVG back."""

from __future__ import annotations

import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def parse_svg(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def groups(root: ET.Element, cls: str) -> dict[str, ET.Element]:
    """``<g class=cls>`` elements by their ``<title>`` (node id, ``a->b`` edge, cluster id)."""
    out = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == cls:
            title = g.find(f"{SVG}title")
            assert title is not None
            out[title.text or ""] = g
    return out


def texts(element: ET.Element) -> list[str]:
    """Every ``<text>`` inside ``element``, in order (one per label line)."""
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}text")]


def tooltip(element: ET.Element) -> str | None:
    for a in element.iter(f"{SVG}a"):
        return a.get(f"{XLINK}title")
    return None
