//! Build script. Embeds static/ into the binary in every profile, so a debug build, the tests and
//! the release binary serve the same bytes, and nothing is read from the source tree at run time.
//! The migrations are embedded by `sqlx::migrate!`, which cargo does not know to watch, so a
//! changed or added migration must trigger a rebuild too.

fn main() {
    memory_serve::load_directory_with_embed("static", true);
    println!("cargo:rerun-if-changed=migrations");
}
