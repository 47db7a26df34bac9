//! Workspace-level integration tests; the README's code blocks run here as
//! doctests.

#![doc = include_str!("../../README.md")]
