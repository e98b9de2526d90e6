//! Embeds static/ into the binary in every profile, so a debug build, the tests and the release
//! binary serve the same bytes, and nothing is read from the source tree at run time.

fn main() {
    memory_serve::load_directory_with_embed("static", true);
}
