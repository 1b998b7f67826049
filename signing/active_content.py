"""Active content in an original: found, and removed before the first signature.

A certified copy shows the document and nothing else. Scripts, actions that launch programs or send, import or
reset data, embedded files, rich media and XFA forms are taken out; what the pages show (content streams,
fonts, images, annotation appearances, links that only move within the document or open a web address) is left
as it is. Each removal is named by the PDF key or type it concerned (``/JavaScript``, ``/Launch``, ``/AA``…), so
the caller can record what was removed.
"""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject

__all__ = ["ACTIVE_KEYS", "find_active_content", "remove_active_content"]

# Action types that run code, start programs, exchange data or play media.
_ACTIONS = frozenset({"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/ResetForm", "/GoToE",
                      "/Rendition", "/RichMediaExecute", "/Movie", "/Sound"})
# Annotation types that carry media or files.
_ANNOTATIONS = frozenset({"/RichMedia", "/FileAttachment", "/Screen", "/Movie", "/Sound", "/3D"})
# Keys whose value is an action (or a chain of actions).
_ACTION_KEYS = ("/OpenAction", "/A", "/PA", "/Next")

ACTIVE_KEYS = frozenset({"/AA", "/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/AF", "/XFA", "/Collection",
                         *_ACTIONS, *_ANNOTATIONS})
"""Every name :func:`find_active_content` may report."""


def find_active_content(data: bytes) -> tuple[str, ...]:
    """The kinds of active content in the PDF ``data`` (sorted PDF names; empty when there is none)."""
    reader = PdfReader(io.BytesIO(data), strict=False)
    return _Walk(remove=False).run(reader.trailer["/Root"])


def remove_active_content(data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """``data`` without its active content, and what was removed.

    When there is nothing to remove, ``data`` itself is returned (not rewritten).
    """
    found = find_active_content(data)
    if not found:
        return data, ()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data), strict=False))
    _Walk(remove=True).run(writer.root_object)
    with io.BytesIO() as out:
        writer.write(out)
        return out.getvalue(), found


class _Walk:
    """Every dictionary and array reachable from the catalogue, once; in `remove` mode the findings are cut."""

    def __init__(self, *, remove: bool):
        self.remove = remove
        self.found: set[str] = set()
        self.seen: set[tuple[int, int]] = set()

    def run(self, root: PdfObject) -> tuple[str, ...]:
        catalog = _resolve(root)
        if isinstance(catalog, DictionaryObject):
            self.catalog(catalog)
        stack: list[PdfObject] = [root]
        while stack:
            item = stack.pop()
            if isinstance(item, IndirectObject):
                key = (item.idnum, item.generation)
                if key in self.seen:
                    continue
                self.seen.add(key)
                item = item.get_object()
            if isinstance(item, DictionaryObject):
                self.dictionary(item)
                stack.extend(item.values())
            elif isinstance(item, ArrayObject):
                stack.extend(item)
        return tuple(sorted(self.found))

    def cut(self, holder: DictionaryObject, key: str, what: str) -> None:
        self.found.add(what)
        if self.remove:
            del holder[NameObject(key)]

    def catalog(self, catalog: DictionaryObject) -> None:
        names = _resolve(catalog.get("/Names"))
        if isinstance(names, DictionaryObject):
            for key in ("/JavaScript", "/EmbeddedFiles"):
                if key in names:
                    self.cut(names, key, key)
        form = _resolve(catalog.get("/AcroForm"))
        if isinstance(form, DictionaryObject) and "/XFA" in form:
            self.cut(form, "/XFA", "/XFA")
        if "/Collection" in catalog:
            self.cut(catalog, "/Collection", "/Collection")

    def dictionary(self, d: DictionaryObject) -> None:
        for key in ("/AA", "/JS", "/EF", "/AF"):
            if key in d:
                self.cut(d, key, key)
        for key in _ACTION_KEYS:
            value = _resolve(d.get(key))
            if isinstance(value, DictionaryObject) and value.get("/S") in _ACTIONS:
                self.cut(d, key, str(value["/S"]))
            elif isinstance(value, ArrayObject):
                self.actions(value)
        annots = _resolve(d.get("/Annots"))
        if isinstance(annots, ArrayObject):
            self.annotations(annots)

    def actions(self, chain: ArrayObject) -> None:
        for index in reversed(range(len(chain))):
            action = _resolve(chain[index])
            if isinstance(action, DictionaryObject) and action.get("/S") in _ACTIONS:
                self.found.add(str(action["/S"]))
                if self.remove:
                    del chain[index]

    def annotations(self, annots: ArrayObject) -> None:
        for index in reversed(range(len(annots))):
            annot = _resolve(annots[index])
            if isinstance(annot, DictionaryObject) and annot.get("/Subtype") in _ANNOTATIONS:
                self.found.add(str(annot["/Subtype"]))
                if self.remove:
                    del annots[index]


def _resolve(value: PdfObject | None) -> PdfObject | None:
    return value.get_object() if isinstance(value, IndirectObject) else value
