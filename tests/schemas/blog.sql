-- A blog: users, posts, comments, tags, with the usual keys and indexes.
CREATE TABLE user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    nickname VARCHAR(64) NOT NULL COLLATE NOCASE,
    email VARCHAR(120) NOT NULL UNIQUE,
    bio TEXT DEFAULT '',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    karma INTEGER NOT NULL DEFAULT 0 CHECK (karma >= -1000)
);
CREATE UNIQUE INDEX ix_user_nickname ON user (nickname);
CREATE TABLE post (
    id INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    title VARCHAR(200) NOT NULL,
    body TEXT,
    published BOOLEAN NOT NULL DEFAULT 0,
    published_at DATETIME DEFAULT (datetime('now'))
);
CREATE INDEX ix_post_author ON post (author_id, published_at DESC);
CREATE TABLE comment (
    id INTEGER PRIMARY KEY,
    post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES comment (id) ON DELETE SET NULL,
    author_id INTEGER REFERENCES user (id) ON DELETE SET NULL,
    body TEXT NOT NULL CHECK (length(body) > 0)
);
CREATE INDEX ix_comment_post ON comment (post_id);
CREATE TABLE tag (name TEXT PRIMARY KEY COLLATE NOCASE) WITHOUT ROWID;
CREATE TABLE post_tag (
    post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE,
    tag TEXT NOT NULL REFERENCES tag (name) ON UPDATE CASCADE,
    PRIMARY KEY (post_id, tag)
) WITHOUT ROWID;
CREATE VIEW published_post AS SELECT p.id, p.title, u.nickname AS author FROM post p JOIN user u ON u.id = p.author_id WHERE p.published;
