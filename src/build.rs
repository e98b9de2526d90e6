//! Build script: the migrations are embedded by `sqlx::migrate!`, which cargo does not know to
//! watch, so a changed or added migration must trigger a rebuild.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
