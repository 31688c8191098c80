//! A blocking Rust client for `kith serve`, with pipelining, returning the
//! same typed results as the embedded API.
//!
//! ```no_run
//! use kith::client::Client;
//! use kith::{attrs, NewEntity};
//!
//! let mut c = Client::connect("127.0.0.1:7379")?;
//! let id = c.create(NewEntity::person().attr(attrs::GIVEN_NAME, "Ann").identifier("crm", "C-1"))?;
//! assert_eq!(c.lookup("crm", "C-1")?, Some(id));
//! let ann = c.get(id)?.expect("just created");
//! assert_eq!(ann.text(attrs::GIVEN_NAME), Some("Ann"));
//! # Ok::<(), kith::client::ClientError>(())
//! ```

use crate::index::Index;
use crate::json;
use crate::model::{
    Direction, EdgeProps, EntityId, ExternalId, Neighbour, NewEntity, Patch, RelKind,
};
use crate::resp::{parse_reply, Frame, Limits};
use crate::Entity;
use crate::Stats;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The connection failed or closed.
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
    /// The server's bytes broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server answered with an error: `code` is its first word
    /// (`NOTFOUND`, `INVALID`, `CONFLICT`, `NOAUTH`, `ERR`, …).
    #[error("{code} {message}")]
    Server {
        /// The stable code word.
        code: String,
        /// The rest of the message.
        message: String,
    },
    /// The reply did not have the expected shape.
    #[error("unexpected reply: {0}")]
    Unexpected(String),
}

/// A connection to a kith server.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    limits: Limits,
}

fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.push(b'*');
    out.extend_from_slice(args.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(a.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn into_result(f: Frame) -> Result<Frame, ClientError> {
    match f {
        Frame::Error(e) => {
            let (code, message) = e.split_once(' ').unwrap_or((&e, ""));
            Err(ClientError::Server {
                code: code.to_string(),
                message: message.to_string(),
            })
        }
        other => Ok(other),
    }
}

fn unexpected(f: &Frame) -> ClientError {
    ClientError::Unexpected(format!("{f:?}"))
}

fn parse_json(f: Frame) -> Result<Option<serde_json::Value>, ClientError> {
    match f {
        Frame::Null => Ok(None),
        Frame::Bulk(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| ClientError::Unexpected(format!("reply is not JSON: {e}"))),
        other => Err(unexpected(&other)),
    }
}

fn entity_of(f: Frame) -> Result<Option<Entity>, ClientError> {
    match parse_json(f)? {
        None => Ok(None),
        Some(j) => json::entity_from_json(&j)
            .map(Some)
            .map_err(ClientError::Unexpected),
    }
}

/// A `:1` / `:0` reply as a bool.
fn flag(f: Frame) -> Result<bool, ClientError> {
    match f {
        Frame::Integer(n) => Ok(n == 1),
        other => Err(unexpected(&other)),
    }
}

fn id_of(f: Frame) -> Result<Option<EntityId>, ClientError> {
    match f {
        Frame::Null => Ok(None),
        Frame::Integer(i) if i >= 0 => Ok(Some(EntityId(i as u64))),
        other => Err(unexpected(&other)),
    }
}

fn rel_name(kind: RelKind) -> Result<&'static str, ClientError> {
    kind.builtin_name().ok_or_else(|| {
        ClientError::Unexpected(format!(
            "{kind} is user-registered: use the *_named call with its name"
        ))
    })
}

fn ids_json(ids: &[ExternalId]) -> serde_json::Value {
    serde_json::Value::Array(
        ids.iter()
            .map(|x| serde_json::json!({"system": x.system, "key": x.key}))
            .collect(),
    )
}

impl Client {
    /// Connects.
    pub fn connect(addr: impl ToSocketAddrs) -> Result<Client, ClientError> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: Vec::with_capacity(8192),
            limits: Limits {
                max_bulk: 512 << 20,
                max_array: 16 << 20,
                max_line: 1 << 20,
            },
        })
    }

    /// Connects and authenticates.
    pub fn connect_with_password(
        addr: impl ToSocketAddrs,
        password: &str,
    ) -> Result<Client, ClientError> {
        let mut c = Client::connect(addr)?;
        c.auth(password)?;
        Ok(c)
    }

    /// Sets a timeout on every read (`None`: wait forever).
    pub fn set_timeout(&mut self, t: Option<Duration>) -> Result<(), ClientError> {
        self.stream.set_read_timeout(t)?;
        self.stream.set_write_timeout(t)?;
        Ok(())
    }

    /// Sends one command and reads its reply (server errors become `Err`).
    pub fn command(&mut self, args: &[&[u8]]) -> Result<Frame, ClientError> {
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.stream.write_all(&out)?;
        into_result(self.read_reply()?)
    }

    /// Sends many commands in one write and reads their replies, in order.
    /// Each reply is `Ok` or the server's error for that command.
    pub fn pipeline(
        &mut self,
        commands: &[Vec<Vec<u8>>],
    ) -> Result<Vec<Result<Frame, ClientError>>, ClientError> {
        let mut out = Vec::new();
        for c in commands {
            let args: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
            encode_command(&mut out, &args);
        }
        self.stream.write_all(&out)?;
        let mut replies = Vec::with_capacity(commands.len());
        for _ in commands {
            replies.push(into_result(self.read_reply()?));
        }
        Ok(replies)
    }

    fn read_reply(&mut self) -> Result<Frame, ClientError> {
        loop {
            match parse_reply(&self.buf, &self.limits) {
                Ok(Some((f, used))) => {
                    self.buf.drain(..used);
                    return Ok(f);
                }
                Ok(None) => {}
                Err(e) => return Err(ClientError::Protocol(e.to_string())),
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(ClientError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// `AUTH password`.
    pub fn auth(&mut self, password: &str) -> Result<(), ClientError> {
        self.command(&[b"AUTH", password.as_bytes()]).map(|_| ())
    }

    /// `PING`.
    pub fn ping(&mut self) -> Result<(), ClientError> {
        match self.command(&[b"PING"])? {
            Frame::Simple(s) if s == "PONG" => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// The entity with `id`, or `None` ([`crate::Db::get`]).
    pub fn get(&mut self, id: EntityId) -> Result<Option<Entity>, ClientError> {
        entity_of(self.command(&[b"ENTITY.GET", id.0.to_string().as_bytes()])?)
    }

    /// Many entities in one round trip, in order.
    pub fn get_many(&mut self, ids: &[EntityId]) -> Result<Vec<Option<Entity>>, ClientError> {
        let texts: Vec<String> = ids.iter().map(|i| i.0.to_string()).collect();
        let mut args: Vec<&[u8]> = vec![b"ENTITY.MGET"];
        args.extend(texts.iter().map(|t| t.as_bytes()));
        match self.command(&args)? {
            Frame::Array(items) => items.into_iter().map(entity_of).collect(),
            other => Err(unexpected(&other)),
        }
    }

    /// Many `ENTITY.GET`s pipelined in one write.
    pub fn get_pipelined(&mut self, ids: &[EntityId]) -> Result<Vec<Option<Entity>>, ClientError> {
        let cmds: Vec<Vec<Vec<u8>>> = ids
            .iter()
            .map(|i| vec![b"ENTITY.GET".to_vec(), i.0.to_string().into_bytes()])
            .collect();
        self.pipeline(&cmds)?
            .into_iter()
            .map(|r| r.and_then(entity_of))
            .collect()
    }

    /// The entity a cross-system identifier names ([`crate::Db::lookup`]).
    pub fn lookup(&mut self, system: &str, key: &str) -> Result<Option<EntityId>, ClientError> {
        id_of(self.command(&[b"LOOKUP", system.as_bytes(), key.as_bytes()])?)
    }

    /// Entities by an indexed attribute ([`crate::Db::find`]).
    pub fn find(&mut self, index: Index, value: &str) -> Result<Vec<EntityId>, ClientError> {
        match self.command(&[b"FIND", index.name().as_bytes(), value.as_bytes()])? {
            Frame::Array(items) => items
                .into_iter()
                .map(|f| id_of(f)?.ok_or_else(|| ClientError::Unexpected("null id".into())))
                .collect(),
            other => Err(unexpected(&other)),
        }
    }

    /// Creates an entity ([`crate::Db::create`]); its kind must be built in
    /// or registered on the server under the same name.
    pub fn create(&mut self, new: NewEntity) -> Result<EntityId, ClientError> {
        let kind = new.kind.builtin_name().ok_or_else(|| {
            ClientError::Unexpected(format!("{} is user-registered: use create_named", new.kind))
        })?;
        self.create_named(kind, new)
    }

    /// Creates an entity of the kind called `kind`.
    pub fn create_named(&mut self, kind: &str, new: NewEntity) -> Result<EntityId, ClientError> {
        let doc = serde_json::json!({"attrs": json::attrs_to_json(&new.attrs), "identifiers": ids_json(&new.identifiers)});
        let doc = doc.to_string();
        id_of(self.command(&[b"ENTITY.CREATE", kind.as_bytes(), doc.as_bytes()])?)?
            .ok_or_else(|| ClientError::Unexpected("null id".into()))
    }

    /// Updates an entity ([`crate::Db::update`]).
    pub fn update(&mut self, id: EntityId, patch: Patch) -> Result<Entity, ClientError> {
        let doc = serde_json::json!({
            "set": json::attrs_to_json(&patch.set),
            "remove": patch.remove,
            "add_identifiers": ids_json(&patch.add_identifiers),
            "remove_identifiers": ids_json(&patch.remove_identifiers),
        })
        .to_string();
        entity_of(self.command(&[
            b"ENTITY.UPDATE",
            id.0.to_string().as_bytes(),
            doc.as_bytes(),
        ])?)?
        .ok_or_else(|| ClientError::Unexpected("null entity".into()))
    }

    /// Deletes an entity ([`crate::Db::delete`]).
    pub fn delete(&mut self, id: EntityId) -> Result<bool, ClientError> {
        flag(self.command(&[b"ENTITY.DELETE", id.0.to_string().as_bytes()])?)
    }

    /// Adds a relationship of a built-in kind ([`crate::Db::relate`]).
    pub fn relate(
        &mut self,
        from: EntityId,
        kind: RelKind,
        to: EntityId,
        props: EdgeProps,
    ) -> Result<bool, ClientError> {
        self.relate_named(from, rel_name(kind)?, to, props)
    }

    /// Adds a relationship of the kind called `kind`.
    pub fn relate_named(
        &mut self,
        from: EntityId,
        kind: &str,
        to: EntityId,
        props: EdgeProps,
    ) -> Result<bool, ClientError> {
        let doc = json::edge_props_to_json(&props).to_string();
        let (f, t) = (from.0.to_string(), to.0.to_string());
        flag(self.command(&[
            b"REL.ADD",
            f.as_bytes(),
            kind.as_bytes(),
            t.as_bytes(),
            doc.as_bytes(),
        ])?)
    }

    /// Removes a relationship of a built-in kind ([`crate::Db::unrelate`]).
    pub fn unrelate(
        &mut self,
        from: EntityId,
        kind: RelKind,
        to: EntityId,
    ) -> Result<bool, ClientError> {
        let (f, t) = (from.0.to_string(), to.0.to_string());
        flag(self.command(&[
            b"REL.DEL",
            f.as_bytes(),
            rel_name(kind)?.as_bytes(),
            t.as_bytes(),
        ])?)
    }

    /// Relationships of one built-in kind at `id` ([`crate::Db::neighbours`]).
    pub fn neighbours(
        &mut self,
        id: EntityId,
        kind: RelKind,
        direction: Direction,
    ) -> Result<Vec<Neighbour>, ClientError> {
        let dir: &[u8] = if direction == Direction::Out {
            b"out"
        } else {
            b"in"
        };
        let reply = self.command(&[
            b"NEIGHBOURS",
            id.0.to_string().as_bytes(),
            rel_name(kind)?.as_bytes(),
            dir,
        ])?;
        match parse_json(reply)? {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|j| json::neighbour_from_json(j).map_err(ClientError::Unexpected))
                .collect(),
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Counts by kind and disk size ([`crate::Db::stats`]).
    pub fn stats(&mut self) -> Result<Stats, ClientError> {
        let j = parse_json(self.command(&[b"STATS"])?)?
            .ok_or_else(|| ClientError::Unexpected("null".into()))?;
        let counts = |name: &str| -> Result<std::collections::BTreeMap<String, u64>, ClientError> {
            serde_json::from_value(j[name].clone())
                .map_err(|e| ClientError::Unexpected(e.to_string()))
        };
        Ok(Stats {
            entities: counts("entities")?,
            // Servers before merged counters answer without it.
            merged: match j.get("merged") {
                Some(_) => counts("merged")?,
                None => Default::default(),
            },
            relationships: counts("relationships")?,
            disk_bytes: j["disk_bytes"].as_u64().unwrap_or(0),
        })
    }
}
