//! One file per group of subcommands; each subcommand is one function.

pub(crate) mod export;
pub(crate) mod feed;
pub(crate) mod generate;
pub(crate) mod interactions;
pub(crate) mod measure;
pub(crate) mod queries;
pub(crate) mod read;
pub(crate) mod resolution;
pub(crate) mod rules;
pub(crate) mod serve;
pub(crate) mod upgrade;
