//! The SDL exported from code is the committed `schema/users.graphql`
//! (regenerate it with `UPDATE_SCHEMA=1` when a change is meant).

#[test]
fn exported_sdl_matches_the_committed_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/users.graphql");
    let sdl = users::graphql::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &sdl).expect("schema/ is writable");
        return;
    }
    let committed = std::fs::read_to_string(path).expect("schema/users.graphql exists");
    if let Some((n, (a, b))) = sdl
        .lines()
        .zip(committed.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        let exported = std::env::temp_dir().join("users.graphql");
        std::fs::write(&exported, &sdl).expect("the temp dir is writable");
        panic!(
            "the SDL differs at line {} (the exported SDL is in {}):\n  code: {a}\n  file: {b}",
            n + 1,
            exported.display()
        );
    }
    assert_eq!(sdl, committed, "the SDL differs in its length or line ends");
}
