//! Notes: Markdown text per meeting (or standing alone), whose lines become action items,
//! decisions and questions.

pub mod grammar;
