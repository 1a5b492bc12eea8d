"""Text that streams in as many small pieces, kept in a few large blocks.

Both stream folds use it: chat and completion chunks (``_accumulate``) and Responses events
(``_response_events``).
"""

from __future__ import annotations

__all__ = ["PIECES_PER_BLOCK", "Text"]

# Text pieces are joined into one block every so many, so a long answer costs its length in
# memory, not an object per event.
PIECES_PER_BLOCK = 256


class Text:
    """Text that arrives in many small pieces, kept in a few large blocks."""

    __slots__ = ("blocks", "pieces")

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.pieces: list[str] = []

    def add(self, piece: str) -> None:
        pieces = self.pieces
        pieces.append(piece)
        if len(pieces) >= PIECES_PER_BLOCK:
            self.compact()

    def compact(self) -> None:
        self.blocks.append("".join(self.pieces))
        self.pieces.clear()

    def __bool__(self) -> bool:
        return bool(self.pieces or self.blocks)

    def __str__(self) -> str:
        return "".join(self.blocks) + "".join(self.pieces)
