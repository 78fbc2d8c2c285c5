//! The tutorial's model as the app's own structs: `User` and `Post`, as in the
//! Flask-SQLAlchemy tutorial's `app/models.py`.

// The app reads rows into these structs; the examples here only declare the schema.
#![allow(dead_code)]

/// `class User(db.Model)`.
#[derive(Debug, dbm::Table)]
#[dbm(name = "user")]
pub struct User {
    #[dbm(primary_key)]
    pub id: i64,
    #[dbm(sql_type = "VARCHAR(64)", index, unique)]
    pub nickname: Option<String>,
    #[dbm(sql_type = "VARCHAR(120)", index, unique)]
    pub email: Option<String>,
}

/// `class Post(db.Model)`.
#[derive(Debug, dbm::Table)]
#[dbm(name = "post")]
pub struct Post {
    #[dbm(primary_key)]
    pub id: i64,
    #[dbm(sql_type = "VARCHAR(140)")]
    pub body: Option<String>,
    #[dbm(sql_type = "DATETIME")]
    pub timestamp: Option<String>,
    #[dbm(references = "user(id)")]
    pub user_id: Option<i64>,
}

/// The whole model, checked.
pub fn schema() -> dbm::Result<dbm::Schema> {
    dbm::schema![User, Post]
}
