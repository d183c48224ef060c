//! Subcommands with a module of their own, keeping `main.rs` to argument parsing and the
//! server's own commands.

pub mod dnssec;
