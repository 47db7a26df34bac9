//! Compile-time behaviour of the macros: `tests/ui/<macro>/pass/*.rs` must
//! compile, `tests/ui/<macro>/fail/*.rs` must fail with the `.stderr`
//! beside them. Regenerate with `TRYBUILD=overwrite cargo test -p
//! gate-macros --test ui`, then read every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/*/pass/*.rs");
    t.compile_fail("tests/ui/*/fail/*.rs");
}
