"""The state: seeds as last seen, normalized stories, and what each feed holds.

It answers the two questions an incremental publish asks: which seeds changed since
last time (by size and mtime, then content digest), and which feeds those changes touch.
Rendering reads stories from here only; it never re-reads seeds.

`base` says what the rest of the program needs (Protocols); `sqlite.Store` is the
embedded SQLite implementation, built of one part per table group (`seeds`, `stories`,
`feeds`, `bulk`) on a shared `connection`; `schema` holds its tables and `codec` the
stored form of a story.
"""

from aggregator.store.base import StateStore
from aggregator.store.codec import pack_story, story_rows, unpack_story
from aggregator.store.sqlite import Store, identity

__all__ = ["StateStore", "Store", "identity", "pack_story", "story_rows", "unpack_story"]
