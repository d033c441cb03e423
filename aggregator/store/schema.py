"""The state database's tables, triggers and indexes, and the version that names them."""

from __future__ import annotations

SCHEMA_VERSION = "17"  # bump when the schema or the stored story format changes

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Item ids (`id`, `article`) are kept as the 16 bytes of their UUID (`codec.id_key`).
-- One row per seed file: how it looked on disk, and its last good normalized story
-- (`codec.pack_story`: compressed JSON).
CREATE TABLE IF NOT EXISTS seeds(
    path TEXT PRIMARY KEY, folder TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL, url TEXT, rank TEXT, story BLOB, error TEXT, warnings TEXT);
CREATE INDEX IF NOT EXISTS seeds_folder ON seeds(folder);
CREATE INDEX IF NOT EXISTS seeds_errors ON seeds(path) WHERE error IS NOT NULL;
-- A digest of each folder's seed names, sizes and mtimes as last published: a folder
-- whose digest is unchanged needs no file-by-file comparison.
CREATE TABLE IF NOT EXISTS folders(folder TEXT PRIMARY KEY, digest TEXT NOT NULL);
-- The published stories: one per canonical URL, from the winning seed.
CREATE TABLE IF NOT EXISTS stories(
    sid INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE, id BLOB NOT NULL, path TEXT NOT NULL, published INTEGER NOT NULL,
    provider TEXT NOT NULL, provider_name TEXT, flag INTEGER, quality INTEGER,
    digest TEXT NOT NULL);  -- the stored story stays in its seed's row, stored once
-- One row per (topic, story); a story's topics are distinct slugs (the normalizer). The
-- story by its row number: a story derived again keeps it.
CREATE TABLE IF NOT EXISTS story_topics(
    slug TEXT NOT NULL, sid INTEGER NOT NULL, name TEXT NOT NULL, published INTEGER NOT NULL, id BLOB NOT NULL);
-- Related coverage: one row per (article, citing story), distinct (the normalizer); the
-- article's data is read from the citing story as stored, so it is stored once. Keys are
-- short: the article by its item id's 16 bytes, the story by its row number (a fifth of
-- the size of URLs in the table and its indexes, built over 450,000 rows at 50,000 seeds).
CREATE TABLE IF NOT EXISTS refs(
    article BLOB NOT NULL, story INTEGER NOT NULL, provider TEXT NOT NULL,
    provider_name TEXT, published INTEGER NOT NULL);
-- How often each given name is used for a provider (domain) or topic (slug), kept by
-- triggers: the display name is the most used one (ties alphabetical), read by index.
CREATE TABLE IF NOT EXISTS names(
    kind TEXT NOT NULL, slug TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY(kind, slug, name)) WITHOUT ROWID;
-- Feeds whose output may be stale: written in the same transaction as the change,
-- cleared only after the files are written, so a crash in between is repaired.
CREATE TABLE IF NOT EXISTS dirty(
    kind TEXT NOT NULL, slug TEXT NOT NULL, force INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(kind, slug));
-- The feeds written: their title and a digest of their items (ids and digests),
-- so a feed touched by a change that does not reach its newest items is not rendered.
CREATE TABLE IF NOT EXISTS feeds(
    kind TEXT NOT NULL, slug TEXT NOT NULL, title TEXT NOT NULL, digest TEXT NOT NULL,
    PRIMARY KEY(kind, slug));
-- Every item each feed has now (its members), kept while archives or tombstones are on.
-- A member gets its `seq` when it first leaves the feed's newest `max_items` (NULL
-- until then); archive document n of a feed holds the members whose seq is in
-- [(n-1) * archive_page_items, n * archive_page_items). A seq is never reused or moved,
-- so a new member, even a back-dated one, never shifts an existing document.
-- `sid` is the story row that holds the item's data (the story, or the one citing it).
CREATE TABLE IF NOT EXISTS members(
    kind TEXT NOT NULL, slug TEXT NOT NULL, id BLOB NOT NULL, published INTEGER NOT NULL,
    sid INTEGER NOT NULL, seq INTEGER, PRIMARY KEY(kind, slug, id)) WITHOUT ROWID;
-- How many members each feed has (its items, archive included), kept by triggers: what
-- the front page shows, read without counting millions of members at each publish.
CREATE TABLE IF NOT EXISTS feed_sizes(
    kind TEXT NOT NULL, slug TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY(kind, slug)) WITHOUT ROWID;
-- The next seq of each feed's archive: above every seq it ever gave.
CREATE TABLE IF NOT EXISTS archive_ends(
    kind TEXT NOT NULL, slug TEXT NOT NULL, next_seq INTEGER NOT NULL, PRIMARY KEY(kind, slug));
-- Items gone from a feed, and when the publish noticed (RFC 6721 tombstones).
CREATE TABLE IF NOT EXISTS tombstones(
    kind TEXT NOT NULL, slug TEXT NOT NULL, id BLOB NOT NULL, deleted INTEGER NOT NULL,
    PRIMARY KEY(kind, slug, id));
-- Items whose feeds' members must be compared again, and archive documents to write
-- again: kept, like `dirty`, until the files are written.
CREATE TABLE IF NOT EXISTS dirty_items(id BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dirty_pages(
    kind TEXT NOT NULL, slug TEXT NOT NULL, page INTEGER NOT NULL, PRIMARY KEY(kind, slug, page)) WITHOUT ROWID;
-- Files this tool wrote in feeds/, to notice ones deleted or edited behind its back.
CREATE TABLE IF NOT EXISTS outputs(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL);
-- The daemon's hub: verified subscriptions to our feeds. Not derived from the seeds, so
-- a rebuild of the other tables keeps them (see KEPT_TABLES).
CREATE TABLE IF NOT EXISTS subscriptions(
    callback TEXT NOT NULL, topic TEXT NOT NULL, secret TEXT, expires INTEGER NOT NULL,
    PRIMARY KEY(callback, topic));
"""

# Tables a newer schema version does not drop: what the seeds cannot give back.
KEPT_TABLES = frozenset({"subscriptions"})

# Keep `names` counting as rows come and go; dropped during a bulk load and replaced by
# one GROUP BY at its end.
TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS stories_names_add AFTER INSERT ON stories WHEN new.provider_name IS NOT NULL BEGIN
    INSERT INTO names VALUES ('provider', new.provider, new.provider_name, 1)
    ON CONFLICT(kind, slug, name) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS stories_names_del AFTER DELETE ON stories WHEN old.provider_name IS NOT NULL BEGIN
    UPDATE names SET n = n - 1 WHERE kind = 'provider' AND slug = old.provider AND name = old.provider_name; END;
CREATE TRIGGER IF NOT EXISTS refs_names_add AFTER INSERT ON refs WHEN new.provider_name IS NOT NULL BEGIN
    INSERT INTO names VALUES ('provider', new.provider, new.provider_name, 1)
    ON CONFLICT(kind, slug, name) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS refs_names_del AFTER DELETE ON refs WHEN old.provider_name IS NOT NULL BEGIN
    UPDATE names SET n = n - 1 WHERE kind = 'provider' AND slug = old.provider AND name = old.provider_name; END;
CREATE TRIGGER IF NOT EXISTS topics_names_add AFTER INSERT ON story_topics BEGIN
    INSERT INTO names VALUES ('topic', new.slug, new.name, 1)
    ON CONFLICT(kind, slug, name) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS topics_names_del AFTER DELETE ON story_topics BEGIN
    UPDATE names SET n = n - 1 WHERE kind = 'topic' AND slug = old.slug AND name = old.name; END;
"""

# Secondary indexes: dropped during a bulk load (a cold publish) and built once after it,
# which is several times faster than updating them row by row. A run killed meanwhile
# gets them back when the next one opens the store (IF NOT EXISTS).
INDEXES = """
CREATE INDEX IF NOT EXISTS seeds_url ON seeds(url);
CREATE INDEX IF NOT EXISTS stories_id ON stories(id);
CREATE INDEX IF NOT EXISTS stories_order ON stories(published DESC, id);
CREATE INDEX IF NOT EXISTS stories_provider ON stories(provider, published DESC, id);
CREATE INDEX IF NOT EXISTS story_topics_order ON story_topics(slug, published DESC, id);
CREATE INDEX IF NOT EXISTS story_topics_sid ON story_topics(sid);
CREATE INDEX IF NOT EXISTS refs_article ON refs(article, story);
CREATE INDEX IF NOT EXISTS refs_provider ON refs(provider, published DESC, article);
CREATE INDEX IF NOT EXISTS refs_story ON refs(story);
"""

# `feed_sizes` follows the members row by row; dropped while they are all replaced at once,
# and counted again by one GROUP BY (`FEED_SIZES`).
MEMBER_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS members_size_add AFTER INSERT ON members BEGIN
    INSERT INTO feed_sizes VALUES (new.kind, new.slug, 1) ON CONFLICT(kind, slug) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS members_size_del AFTER DELETE ON members BEGIN
    UPDATE feed_sizes SET n = n - 1 WHERE kind = old.kind AND slug = old.slug; END;
"""
FEED_SIZES = "INSERT INTO feed_sizes(kind, slug, n) SELECT kind, slug, count(*) FROM members GROUP BY kind, slug"

# The members' secondary indexes: dropped while a feed's members are all inserted at once.
MEMBER_INDEXES = """
CREATE INDEX IF NOT EXISTS members_id ON members(id);
CREATE INDEX IF NOT EXISTS members_seq ON members(kind, slug, seq);
CREATE INDEX IF NOT EXISTS tombstones_deleted ON tombstones(deleted);
"""
