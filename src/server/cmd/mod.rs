//! One file per command. Each is a unit struct implementing
//! [`super::command::Command`]; [`super::command::ALL`] lists them.

pub(crate) mod auth;
pub(crate) mod client;
pub(crate) mod command;
pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod echo;
pub(crate) mod entity_create;
pub(crate) mod entity_delete;
pub(crate) mod entity_get;
pub(crate) mod entity_mget;
pub(crate) mod entity_update;
pub(crate) mod find;
pub(crate) mod group;
pub(crate) mod guarantors;
pub(crate) mod hello;
pub(crate) mod household;
pub(crate) mod info;
pub(crate) mod interaction_add;
pub(crate) mod interactions;
pub(crate) mod kind_register;
pub(crate) mod list;
pub(crate) mod lookup;
pub(crate) mod neighbours;
pub(crate) mod path;
pub(crate) mod ping;
pub(crate) mod quit;
pub(crate) mod record_delete;
pub(crate) mod record_upsert;
pub(crate) mod rel_add;
pub(crate) mod rel_del;
pub(crate) mod select;
pub(crate) mod shared;
pub(crate) mod stats;
