//! The real `gate` binary, run as a process. On a terminal and off it: help
//! for every subcommand, confirmation prompts, colour.

#![allow(missing_docs)]

mod support;

use support::Store;

#[test]
fn every_subcommand_has_help() {
    let subcommands: &[&[&str]] = &[
        &[],
        &["list"],
        &["show"],
        &["create"],
        &["enable"],
        &["disable"],
        &["toggle"],
        &["global"],
        &["percentage"],
        &["allow"],
        &["disallow"],
        &["allow-matching"],
        &["condition"],
        &["condition", "add"],
        &["condition", "remove"],
        &["condition", "list"],
        &["variants"],
        &["delete"],
        &["check"],
        &["export"],
        &["import"],
        &["history"],
        &["outcome"],
        &["put"],
        &["restore"],
    ];
    for sub in subcommands {
        let output = std::process::Command::new(support::GATE)
            .args(*sub)
            .arg("--help")
            .output()
            .unwrap();
        assert!(output.status.success(), "{sub:?} --help: {output:?}");
        let help = String::from_utf8(output.stdout).unwrap();
        let usage = format!("Usage: gate {}", sub.join(" "));
        assert!(help.contains(usage.trim_end()), "{sub:?}: {help}");
        assert!(
            help.contains("--store <URL|FILE>"),
            "{sub:?}: global options listed: {help}"
        );
        assert!(!help.contains('\x1b'), "no colour on a pipe");
    }
    let output = std::process::Command::new(support::GATE)
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8(output.stdout)
        .unwrap()
        .starts_with("gate 0."));
}

/// Runs `gate ARGS` on a pseudo-terminal (util-linux `script`), typing
/// `typed` into it; what the terminal showed, and the exit status.
fn on_terminal(s: &Store, args: &[&str], typed: &str, no_colour: bool) -> (Option<i32>, String) {
    use std::io::Write as _;
    let quote = |arg: &str| format!("'{}'", arg.replace('\'', r"'\''"));
    let mut line = vec![quote(support::GATE), "--store".into(), quote(&s.store)];
    line.extend(args.iter().map(|a| quote(a)));
    let mut command = std::process::Command::new("script");
    command
        .args(["-qec", &line.join(" "), "/dev/null"])
        .env("USER", "tester")
        .env_remove("GATE_STORE")
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    if no_colour {
        command.env("NO_COLOR", "1");
    }
    let mut child = command.spawn().unwrap_or_else(|e| {
        panic!("these tests need util-linux `script` for a pseudo-terminal ({e}): apt-get install util-linux")
    });
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(typed.as_bytes())
        .unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n"),
    )
}

#[test]
fn delete_asks_on_a_terminal() {
    let s = Store::file("delete_terminal");
    for name in ["movies", "movies:star_wars", "music"] {
        s.ok(&["create", name]);
    }
    let (code, shown) = on_terminal(&s, &["delete", "movies"], "n\n", false);
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains("deleting movies also deletes its 1 descendant (movies:star_wars). Delete them all? [y/N]"),
        "{shown}"
    );
    assert!(shown.contains("not confirmed; nothing deleted"), "{shown}");
    assert_eq!(s.names().len(), 3);

    let (code, shown) = on_terminal(&s, &["delete", "movies"], "y\n", false);
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains("deleted movies, movies:star_wars"),
        "{shown}"
    );
    assert_eq!(s.names(), ["music"]);
    // Nothing to confirm without descendants.
    let (code, shown) = on_terminal(&s, &["delete", "music"], "", false);
    assert_eq!((code, shown.trim()), (Some(0), "deleted music"));
}

#[test]
fn colour_only_on_a_terminal() {
    let s = Store::file("colour");
    s.ok(&["global", "on_for_all"]);
    s.ok(&["create", "off_for_all"]);
    let (_, shown) = on_terminal(&s, &["list"], "", false);
    assert!(shown.contains("\x1b[32mglobal\x1b[0m"), "{shown:?}");
    assert!(shown.contains("\x1b[31mdisabled\x1b[0m"), "{shown:?}");
    let (_, shown) = on_terminal(&s, &["check", "on_for_all"], "", false);
    assert!(shown.starts_with("\x1b[32mon\x1b[0m\n"), "{shown:?}");
    let (_, shown) = on_terminal(&s, &["check", "off_for_all"], "", false);
    assert!(shown.starts_with("\x1b[31moff\x1b[0m\n"), "{shown:?}");
    // NO_COLOR turns it off; a pipe never has it.
    let (_, shown) = on_terminal(&s, &["list"], "", true);
    assert!(!shown.contains('\x1b'), "{shown:?}");
    assert!(!s.ok(&["list"]).contains('\x1b'));
}
