//! The SDL exported from code is the committed `schema/moderation.graphql`
//! (regenerate it with `UPDATE_SCHEMA=1` when a change is meant).

#[test]
fn exported_sdl_matches_the_committed_file() {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/moderation.graphql");
    kit::testing::assert_sdl_matches(&file, &moderation::graphql::sdl());
}
