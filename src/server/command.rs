//! What a command is, the context it runs in, and the table of all commands.
//! Adding a command is one file in `cmd/` and one line in [`ALL`].

use super::Shared;
use crate::error::{ReadError, StorageError, WriteError};
use crate::model::{EntityId, EntityKind, RelKind};
use crate::resp::Frame;
use crate::Db;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One connection's session state.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) id: u64,
    pub(crate) addr: String,
    pub(crate) name: Option<String>,
    pub(crate) resp3: bool,
    pub(crate) authenticated: bool,
    pub(crate) quit: bool,
}

/// What a command sees.
pub(crate) struct Context<'a> {
    pub(crate) db: &'a Db,
    pub(crate) session: &'a mut Session,
    pub(crate) shared: &'a Shared,
    /// Set by a command that found nothing and was asked to wait (`BLOCK`):
    /// the connection is parked and the command is run again on a commit.
    pub(crate) blocked: Option<Blocked>,
    /// Set by a command whose reply is a bulk string the reply cache holds:
    /// the connection copies it straight into its output and ignores the
    /// frame returned.
    pub(crate) encoded: Option<std::sync::Arc<Vec<u8>>>,
}

/// A command waiting for the change log: run again with `args` (its `$`
/// resolved to a position) when a commit lands, until `deadline`.
pub(crate) struct Blocked {
    pub(crate) deadline: Option<std::time::Instant>,
    pub(crate) args: Vec<Vec<u8>>,
}

impl Blocked {
    /// Waits `ms` milliseconds (0: for ever).
    pub(crate) fn new(ms: u64, args: Vec<Vec<u8>>) -> Blocked {
        Blocked {
            deadline: (ms > 0)
                .then(|| std::time::Instant::now() + std::time::Duration::from_millis(ms)),
            args,
        }
    }
}

/// A command of the wire protocol.
pub(crate) trait Command: Sync {
    /// Its name, upper-case.
    fn name(&self) -> &'static str;
    /// Arity as Redis counts it: arguments including the name; negative
    /// means "at least".
    fn arity(&self) -> i32;
    /// One line for `COMMAND` and the docs.
    fn summary(&self) -> &'static str;
    /// Whether it may run before the client authenticates.
    fn before_auth(&self) -> bool {
        false
    }
    /// Whether it changes the database.
    fn writes(&self) -> bool {
        false
    }
    /// Runs it. `args[0]` is the name.
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame;
}

/// Every command.
pub(crate) const ALL: &[&dyn Command] = &[
    &super::cmd::ping::Ping,
    &super::cmd::echo::Echo,
    &super::cmd::hello::Hello,
    &super::cmd::auth::Auth,
    &super::cmd::select::Select,
    &super::cmd::quit::Quit,
    &super::cmd::client::Client,
    &super::cmd::command::CommandCmd,
    &super::cmd::info::Info,
    &super::cmd::config::Config,
    &super::cmd::entity_get::EntityGet,
    &super::cmd::entity_mget::EntityMget,
    &super::cmd::entity_create::EntityCreate,
    &super::cmd::entity_update::EntityUpdate,
    &super::cmd::entity_delete::EntityDelete,
    &super::cmd::lookup::Lookup,
    &super::cmd::find::Find,
    &super::cmd::rel_add::RelAdd,
    &super::cmd::rel_del::RelDel,
    &super::cmd::neighbours::Neighbours,
    &super::cmd::list::List,
    &super::cmd::kind_register::KindRegister,
    &super::cmd::stats::Stats,
    &super::cmd::household::Household,
    &super::cmd::guarantors::Guarantors,
    &super::cmd::group::Group,
    &super::cmd::owners::Owners,
    &super::cmd::path::Path,
    &super::cmd::shared::Shared,
    &super::cmd::context::ContextCmd,
    &super::cmd::interaction_add::InteractionAdd,
    &super::cmd::interactions::Interactions,
    &super::cmd::record_upsert::RecordUpsert,
    &super::cmd::record_delete::RecordDelete,
    &super::cmd::record_same::RecordSame,
    &super::cmd::record_apart::RecordApart,
    &super::cmd::record_explain::RecordExplain,
    &super::cmd::lineage::Lineage,
    &super::cmd::rule::RuleSet,
    &super::cmd::rule::RuleDel,
    &super::cmd::rule::RuleList,
    &super::cmd::rule::RuleStats,
    &super::cmd::xread::Xread,
    &super::cmd::xreadgroup::Xreadgroup,
    &super::cmd::xrange::Xrange,
    &super::cmd::xrange::Xrevrange,
    &super::cmd::xlen::Xlen,
    &super::cmd::xinfo::Xinfo,
    &super::cmd::xgroup::Xgroup,
    &super::cmd::xack::Xack,
    &super::cmd::xpending::Xpending,
    &super::cmd::xclaim::XCLAIM,
    &super::cmd::xclaim::XAUTOCLAIM,
    &super::cmd::xadd::Refused("XADD"),
    &super::cmd::xadd::Refused("XDEL"),
    &super::cmd::xadd::Refused("XTRIM"),
    &super::cmd::xadd::Refused("XSETID"),
];

/// The command called `name` (any case).
pub(crate) fn lookup(name: &[u8]) -> Option<&'static dyn Command> {
    static TABLE: OnceLock<HashMap<String, &'static dyn Command>> = OnceLock::new();
    let table = TABLE.get_or_init(|| ALL.iter().map(|c| (c.name().to_string(), *c)).collect());
    let mut buf = [0u8; 32];
    let upper = buf.get_mut(..name.len())?;
    upper.copy_from_slice(name);
    upper.make_ascii_uppercase();
    table.get(std::str::from_utf8(upper).ok()?).copied()
}

/// Runs one request: authentication, arity, then the command.
pub(crate) fn execute(cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
    execute_found(cx, args.first().and_then(|n| lookup(n)), args)
}

/// [`execute`] with the command already looked up (`None`: unknown).
pub(crate) fn execute_found(
    cx: &mut Context<'_>,
    found: Option<&'static dyn Command>,
    args: &[&[u8]],
) -> Frame {
    let Some(name) = args.first() else {
        return Frame::Error("ERR empty command".into());
    };
    let Some(cmd) = found else {
        if let Some(ext) = cx
            .shared
            .config
            .extensions
            .iter()
            .find(|e| name.eq_ignore_ascii_case(e.name.as_bytes()))
        {
            if !cx.session.authenticated {
                return Frame::Error("NOAUTH Authentication required.".into());
            }
            return (ext.run)(cx.db, args);
        }
        let shown: String = String::from_utf8_lossy(name).chars().take(64).collect();
        return Frame::Error(format!("ERR unknown command '{shown}'"));
    };
    if !cx.session.authenticated && !cmd.before_auth() {
        return Frame::Error("NOAUTH Authentication required.".into());
    }
    let n = args.len() as i32;
    let a = cmd.arity();
    if (a >= 0 && n != a) || (a < 0 && n < -a) {
        return Frame::Error(format!(
            "ERR wrong number of arguments for '{}' command",
            cmd.name().to_lowercase()
        ));
    }
    cmd.run(cx, args)
}

// ---- argument helpers shared by the commands ----

/// An argument as UTF-8 text.
pub(crate) fn text<'a>(args: &[&'a [u8]], i: usize, what: &str) -> Result<&'a str, Frame> {
    std::str::from_utf8(args[i])
        .map_err(|_| Frame::error("INVALID", format!("{what} is not valid UTF-8")))
}

/// An argument as an entity id.
pub(crate) fn id(args: &[&[u8]], i: usize) -> Result<EntityId, Frame> {
    let t = text(args, i, "id")?;
    t.parse::<u64>().map(EntityId).map_err(|_| {
        Frame::error(
            "INVALID",
            format!("id must be a non-negative integer, got {t:?}"),
        )
    })
}

/// An argument as the id of the customer a query is about: a source
/// record's id answers for its customer, a merged-away customer's for its
/// survivor (the answer's own id field says which was answered).
pub(crate) fn customer(db: &Db, args: &[&[u8]], i: usize) -> Result<EntityId, Frame> {
    let asked = id(args, i)?;
    match db.customer_for(asked) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(Frame::error(
            "NOTFOUND",
            format!("no entity with id {asked}"),
        )),
        Err(e) => Err(read_error(&e)),
    }
}

/// An argument as a registered entity kind name.
pub(crate) fn entity_kind(db: &Db, args: &[&[u8]], i: usize) -> Result<EntityKind, Frame> {
    let t = text(args, i, "kind")?;
    db.entity_kind(&t.to_ascii_lowercase())
        .ok_or_else(|| Frame::error("INVALID", format!("unknown entity kind {t:?}")))
}

/// An argument as a registered relationship kind name.
pub(crate) fn rel_kind(db: &Db, args: &[&[u8]], i: usize) -> Result<RelKind, Frame> {
    let t = text(args, i, "relationship kind")?;
    db.relationship_kind(&t.to_ascii_uppercase())
        .ok_or_else(|| Frame::error("INVALID", format!("unknown relationship kind {t:?}")))
}

/// An argument as JSON.
pub(crate) fn json(args: &[&[u8]], i: usize) -> Result<serde_json::Value, Frame> {
    serde_json::from_slice(args[i])
        .map_err(|e| Frame::error("INVALID", format!("argument {i} is not JSON: {e}")))
}

/// A JSON document as a bulk string reply.
pub(crate) fn json_reply(v: &serde_json::Value) -> Frame {
    Frame::Bulk(serde_json::to_vec(v).expect("JSON values always serialize"))
}

/// The reply for a storage failure.
pub(crate) fn storage_error(e: &StorageError) -> Frame {
    match e {
        StorageError::Corrupt { .. } => Frame::error("CORRUPT", e),
        _ => Frame::error("IOERR", e),
    }
}

/// The reply for a read failure.
pub(crate) fn read_error(e: &ReadError) -> Frame {
    match e {
        ReadError::Storage(s) => storage_error(s),
        _ => Frame::error("INVALID", e),
    }
}

/// The reply for a write failure.
pub(crate) fn write_error(e: &WriteError) -> Frame {
    match e {
        WriteError::NotFound(_) => Frame::error("NOTFOUND", e),
        WriteError::IdentifierTaken { .. } => Frame::error("CONFLICT", e),
        WriteError::Storage(s) => storage_error(s),
        _ => Frame::error("INVALID", e),
    }
}

/// The reply for an identity-resolution failure.
pub(crate) fn resolve_error(e: &crate::resolve::ResolveError) -> Frame {
    use crate::resolve::ResolveError as R;
    match e {
        R::UnknownRecord { .. } => Frame::error("NOTFOUND", e),
        R::Read(r) => read_error(r),
        R::Write(w) => write_error(w),
        _ => Frame::error("INVALID", e),
    }
}

/// The reply for a traversal failure.
pub(crate) fn traverse_error(e: &crate::traverse::TraverseError) -> Frame {
    use crate::traverse::TraverseError as T;
    match e {
        T::NotFound(_) => Frame::error("NOTFOUND", e),
        T::Read(r) => read_error(r),
        _ => Frame::error("INVALID", e),
    }
}

/// An optional numeric argument (a depth, a count), with a default.
pub(crate) fn number_or(
    args: &[&[u8]],
    i: usize,
    default: usize,
    what: &str,
) -> Result<usize, Frame> {
    match args.get(i) {
        None => Ok(default),
        Some(_) => text(args, i, what)?
            .parse()
            .map_err(|_| Frame::error("INVALID", format!("{what} must be a number"))),
    }
}

/// Splits the trailing `AT day`, `SINCE day` and `UNTIL day` options (any
/// order, each at most once) off `args`, never reading into the first
/// `fixed` arguments: the arguments before the options, and the dates they
/// name.
pub(crate) fn when_tail<'a, 'b>(
    args: &'b [&'a [u8]],
    fixed: usize,
) -> Result<(&'b [&'a [u8]], crate::traverse::When), Frame> {
    let mut end = args.len();
    let mut days: [Option<&str>; 3] = [None; 3];
    const NAMES: [&str; 3] = ["AT", "SINCE", "UNTIL"];
    while end >= fixed + 2 {
        let key = args[end - 2];
        let Some(slot) = NAMES
            .iter()
            .position(|n| key.eq_ignore_ascii_case(n.as_bytes()))
        else {
            break;
        };
        if days[slot].is_some() {
            return Err(Frame::error(
                "INVALID",
                format!("{} is given twice", NAMES[slot]),
            ));
        }
        days[slot] = Some(text(args, end - 1, "day")?);
        end -= 2;
    }
    let when = crate::traverse::When::parse(days[0], days[1], days[2], NAMES)
        .map_err(|e| Frame::error("INVALID", e))?;
    Ok((&args[..end], when))
}

/// The customer a query about `args[1]` is about, and its `AT`, `SINCE`,
/// `UNTIL` options: for the commands that take nothing else (`name`).
pub(crate) fn customer_when(
    db: &Db,
    args: &[&[u8]],
    name: &str,
) -> Result<(EntityId, crate::traverse::When), Frame> {
    let (args, when) = when_tail(args, 2)?;
    if args.len() > 2 {
        return Err(Frame::error(
            "INVALID",
            format!("{name} takes an id, then only AT, SINCE or UNTIL with a day"),
        ));
    }
    Ok((customer(db, args, 1)?, when))
}

/// A source record named by `(system, key)`.
pub(crate) type RecordName<'a> = (&'a str, &'a str);

/// Two records named `system key system2 key2` from `args[1..5]`.
pub(crate) fn two_records<'a>(
    args: &[&'a [u8]],
) -> Result<(RecordName<'a>, RecordName<'a>), Frame> {
    Ok((
        (text(args, 1, "system")?, text(args, 2, "key")?),
        (text(args, 3, "system2")?, text(args, 4, "key2")?),
    ))
}

/// A command's bulk reply held by the reply cache: handed to the
/// connection to copy straight into its output (the frame returned in its
/// place is never sent); `None` is a null reply, `Err` the error's frame.
pub(crate) fn shared_bulk(
    cx: &mut Context<'_>,
    found: Result<Option<std::sync::Arc<Vec<u8>>>, Frame>,
) -> Frame {
    match found {
        Ok(Some(bytes)) => {
            cx.encoded = Some(bytes);
            Frame::Null
        }
        Ok(None) => Frame::Null,
        Err(f) => f,
    }
}

/// Unwraps a `Result<Frame, Frame>` built with `?` inside a command.
pub(crate) fn reply(r: Result<Frame, Frame>) -> Frame {
    r.unwrap_or_else(|e| e)
}
