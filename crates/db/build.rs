// sqlx::migrate! embeds the migrations at compile time, but cargo cannot see that a new file
// in migrations/ should rebuild this crate; without this a binary silently ships without it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
