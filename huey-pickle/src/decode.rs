//! The reader: a pickle machine that builds values and never runs code.
//!
//! Opcodes build an arena of objects (so a list that is filled after being referenced, as
//! pickle does with shared objects, is seen the same from every reference); at `STOP` the
//! arena is turned into a [`Value`] tree without recursion, with depth, size and cycle checks.
//! Class references resolve only to an allow-list, and the "calls" (`REDUCE`, `NEWOBJ`) are
//! constructors written here for those classes, each checking the shape of its arguments.

use std::collections::HashMap;

use crate::limits::Limits;
use crate::opcodes as op;
use crate::value::{BigInt, Date, DateTime, Message, TimeDelta, TimeZone, Value};

/// Why a pickle was not read. Each variant says where (the offset of the opcode at fault,
/// counted in bytes from the start of the input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the pickle did.
    #[error("the pickle is truncated: it ends at byte {offset} without STOP or inside an opcode")]
    Truncated {
        /// Where the input ran out.
        offset: usize,
    },
    /// The whole input is larger than [`Limits::max_input_bytes`].
    #[error("the pickle is {len} bytes, over the limit of {limit}")]
    InputTooLarge {
        /// The input's length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A class or function outside the allow-list: the reader refuses it instead of
    /// importing it.
    #[error(
        "byte {offset}: global `{module}.{name}` is not allowed (only Huey's message types, datetime and a few builtins are)"
    )]
    ForbiddenGlobal {
        /// The opcode's offset.
        offset: usize,
        /// The module named.
        module: String,
        /// The name within it.
        name: String,
    },
    /// An opcode this reader does not implement (persistent ids, the extension registry,
    /// out-of-band buffers and old-style instances).
    #[error("byte {offset}: opcode {name} is not supported")]
    UnsupportedOpcode {
        /// The opcode's offset.
        offset: usize,
        /// Its name in Python's `pickletools`.
        name: &'static str,
    },
    /// A byte that is no pickle opcode.
    #[error("byte {offset}: 0x{opcode:02x} is not a pickle opcode")]
    UnknownOpcode {
        /// The opcode's offset.
        offset: usize,
        /// The byte.
        opcode: u8,
    },
    /// A protocol newer than 5.
    #[error("byte {offset}: pickle protocol {protocol} is not supported (0 to 5 are)")]
    UnsupportedProtocol {
        /// The opcode's offset.
        offset: usize,
        /// The protocol the pickle declares.
        protocol: u8,
    },
    /// A bound from [`Limits`] was reached.
    #[error("byte {offset}: {what} ({actual}) is over the limit of {limit}")]
    LimitExceeded {
        /// The opcode's offset.
        offset: usize,
        /// Which bound.
        what: &'static str,
        /// What the pickle asked for.
        actual: u64,
        /// The bound.
        limit: usize,
    },
    /// The pickle is not well formed, or gives an allowed class arguments it does not take.
    #[error("byte {offset}: {message}")]
    Malformed {
        /// The opcode's offset.
        offset: usize,
        /// What is wrong.
        message: String,
    },
}

/// Reads one pickle from the start of `input` into a [`Value`], within `limits`.
///
/// Bytes after the pickle's `STOP` are ignored, as Python's `pickle.loads` ignores them (Huey's
/// signed messages rely on this). Protocols 0 to 5 are read, except the opcodes named in
/// [`DecodeError::UnsupportedOpcode`].
///
/// ```
/// use huey_pickle::{from_slice, Limits, Value};
///
/// // pickle.dumps((None, True), protocol=5)
/// let value = from_slice(b"\x80\x05N\x88\x86\x94.", &Limits::default())?;
/// assert_eq!(value, Value::Tuple(vec![Value::None, Value::Bool(true)]));
///
/// // A pickle that would call os.system('touch /tmp/x') is refused, not run.
/// let hostile = b"\x80\x02cposix\nsystem\nX\x0c\x00\x00\x00touch /tmp/x\x85R.";
/// let error = from_slice(hostile, &Limits::default()).unwrap_err();
/// assert!(error.to_string().contains("`posix.system` is not allowed"));
/// # Ok::<(), huey_pickle::DecodeError>(())
/// ```
pub fn from_slice(input: &[u8], limits: &Limits) -> Result<Value, DecodeError> {
    if input.len() > limits.max_input_bytes {
        return Err(DecodeError::InputTooLarge {
            len: input.len(),
            limit: limits.max_input_bytes,
        });
    }
    let mut machine = Machine::new(input, limits);
    let root = machine.run()?;
    let stop = machine.op_start;
    Materializer::new(machine.nodes, root, limits, stop).build(root)
}

type NodeId = u32;

const NONE: NodeId = 0;
const TRUE: NodeId = 1;
const FALSE: NodeId = 2;

/// The classes and functions a pickle may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Global {
    Message,
    Error,
    DateTime,
    Date,
    TimeDelta,
    TimeZone,
    Set,
    FrozenSet,
    ByteArray,
    /// `builtins.bytes`, which protocols 0 to 2 call with no arguments for `b''`.
    Bytes,
    /// `builtins.tuple`, only as the base class `copyreg._reconstructor` names.
    Tuple,
    /// `_codecs.encode`, which protocols 0 to 2 use to carry `bytes` as latin-1 text.
    CodecsEncode,
    /// `copyreg._reconstructor`, how protocols 0 and 1 rebuild namedtuples.
    Reconstructor,
}

/// One object under construction. Containers refer to other objects by id, so mutation
/// after an object was memoised is seen by every reference, as in Python.
#[derive(Debug)]
enum Node {
    Leaf(Value),
    List(Vec<NodeId>),
    Tuple(Vec<NodeId>),
    Dict(Vec<(NodeId, NodeId)>),
    Set(Vec<NodeId>),
    FrozenSet(Vec<NodeId>),
    Message(Vec<NodeId>),
    Error(NodeId),
    Global(Global),
    TimeZone(TimeZone),
}

impl Node {
    fn type_name(&self) -> &'static str {
        match self {
            Node::Leaf(value) => value.type_name(),
            Node::List(_) => "list",
            Node::Tuple(_) => "tuple",
            Node::Dict(_) => "dict",
            Node::Set(_) => "set",
            Node::FrozenSet(_) => "frozenset",
            Node::Message(_) => "huey.registry.Message",
            Node::Error(_) => "huey.utils.Error",
            Node::Global(_) => "a class or function",
            Node::TimeZone(_) => "datetime.timezone",
        }
    }
}

/// The memo. Its indices are nearly always small and sequential (MEMOIZE counts up from 0), so
/// those live in a vector; any others in a map.
#[derive(Default)]
struct Memo {
    dense: Vec<NodeId>,
    sparse: HashMap<u32, NodeId>,
    len: usize,
}

impl Memo {
    /// Indices below this go in the vector (at most 256 KiB of it).
    const DENSE: u32 = 1 << 16;
    const EMPTY: NodeId = NodeId::MAX;

    fn get(&self, index: u32) -> Option<NodeId> {
        if index < Self::DENSE {
            self.dense
                .get(index as usize)
                .copied()
                .filter(|&id| id != Self::EMPTY)
        } else {
            self.sparse.get(&index).copied()
        }
    }

    fn insert(&mut self, index: u32, id: NodeId) {
        let fresh = if index < Self::DENSE {
            let slot = index as usize;
            if slot >= self.dense.len() {
                self.dense.resize(slot + 1, Self::EMPTY);
            }
            std::mem::replace(&mut self.dense[slot], id) == Self::EMPTY
        } else {
            self.sparse.insert(index, id).is_none()
        };
        self.len += usize::from(fresh);
    }
}

struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    /// Where the opcode being run starts: the offset every error reports.
    op_start: usize,
    limits: &'a Limits,
    nodes: Vec<Node>,
    stack: Vec<NodeId>,
    /// Stack heights at each open MARK.
    marks: Vec<usize>,
    memo: Memo,
    /// References held by containers in the arena, bounded by [`Limits::max_values`].
    references: usize,
}

impl<'a> Machine<'a> {
    fn new(input: &'a [u8], limits: &'a Limits) -> Self {
        Machine {
            input,
            pos: 0,
            op_start: 0,
            limits,
            nodes: vec![
                Node::Leaf(Value::None),
                Node::Leaf(Value::Bool(true)),
                Node::Leaf(Value::Bool(false)),
            ],
            stack: Vec::new(),
            marks: Vec::new(),
            memo: Memo::default(),
            references: 0,
        }
    }

    fn malformed(&self, message: impl Into<String>) -> DecodeError {
        DecodeError::Malformed {
            offset: self.op_start,
            message: message.into(),
        }
    }

    fn limit(&self, what: &'static str, actual: u64, limit: usize) -> DecodeError {
        DecodeError::LimitExceeded {
            offset: self.op_start,
            what,
            actual,
            limit,
        }
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], DecodeError> {
        let remaining = self.input.len() - self.pos;
        if len > remaining as u64 {
            return Err(DecodeError::Truncated {
                offset: self.input.len(),
            });
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.input[start..self.pos])
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        Ok(self
            .take(N as u64)?
            .try_into()
            .expect("take returned N bytes"))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// The bytes of a length-prefixed string, its length checked before it is read.
    fn string_bytes(&mut self, len: u64) -> Result<&'a [u8], DecodeError> {
        if len > self.limits.max_string_bytes as u64 {
            return Err(self.limit("string length in bytes", len, self.limits.max_string_bytes));
        }
        self.take(len)
    }

    /// A newline-terminated argument of the text opcodes (protocol 0), without the newline.
    fn line(&mut self) -> Result<&'a [u8], DecodeError> {
        let rest = &self.input[self.pos..];
        let Some(len) = rest.iter().position(|&byte| byte == b'\n') else {
            return Err(DecodeError::Truncated {
                offset: self.input.len(),
            });
        };
        if len > self.limits.max_string_bytes {
            return Err(self.limit(
                "string length in bytes",
                len as u64,
                self.limits.max_string_bytes,
            ));
        }
        self.pos += len + 1;
        Ok(&rest[..len])
    }

    fn utf8(&self, bytes: &[u8]) -> Result<String, DecodeError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            self.malformed("a str is not valid UTF-8 (lone surrogates are not supported)")
        })
    }

    /// Counts `count` more references held by containers. A set built from a list copies the
    /// list's references, so without this bound a short pickle could copy one long list many
    /// times over.
    fn add_references(&mut self, count: usize) -> Result<(), DecodeError> {
        self.references += count;
        if self.references > self.limits.max_values {
            return Err(self.limit(
                "items held by containers",
                self.references as u64,
                self.limits.max_values,
            ));
        }
        Ok(())
    }

    fn add(&mut self, node: Node) -> Result<NodeId, DecodeError> {
        let references = match &node {
            Node::List(items)
            | Node::Tuple(items)
            | Node::Set(items)
            | Node::FrozenSet(items)
            | Node::Message(items) => items.len(),
            Node::Dict(pairs) => pairs.len() * 2,
            Node::Error(_) => 1,
            Node::Leaf(_) | Node::Global(_) | Node::TimeZone(_) => 0,
        };
        self.add_references(references)?;
        if self.nodes.len() >= self.limits.max_values {
            return Err(self.limit(
                "objects built",
                self.nodes.len() as u64 + 1,
                self.limits.max_values,
            ));
        }
        self.nodes.push(node);
        Ok((self.nodes.len() - 1) as NodeId)
    }

    fn push(&mut self, id: NodeId) -> Result<(), DecodeError> {
        if self.stack.len() >= self.limits.max_values {
            return Err(self.limit(
                "stack height",
                self.stack.len() as u64 + 1,
                self.limits.max_values,
            ));
        }
        self.stack.push(id);
        Ok(())
    }

    fn push_new(&mut self, node: Node) -> Result<(), DecodeError> {
        let id = self.add(node)?;
        self.push(id)
    }

    fn push_leaf(&mut self, value: Value) -> Result<(), DecodeError> {
        self.push_new(Node::Leaf(value))
    }

    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<NodeId, DecodeError> {
        if self.stack.len() <= self.floor() {
            return Err(self.malformed("the stack is empty (or only a MARK is left)"));
        }
        Ok(self.stack.pop().expect("checked above the floor"))
    }

    fn top(&self) -> Result<NodeId, DecodeError> {
        if self.stack.len() <= self.floor() {
            return Err(self.malformed("the stack is empty (or only a MARK is left)"));
        }
        Ok(self.stack[self.stack.len() - 1])
    }

    fn pop_mark(&mut self) -> Result<Vec<NodeId>, DecodeError> {
        let Some(height) = self.marks.pop() else {
            return Err(self.malformed("no MARK to close"));
        };
        Ok(self.stack.split_off(height))
    }

    fn memo_put(&mut self, index: u32) -> Result<(), DecodeError> {
        let id = self.top()?;
        if self.memo.get(index).is_none() && self.memo.len >= self.limits.max_memo_entries {
            return Err(self.limit(
                "memo entries",
                self.memo.len as u64 + 1,
                self.limits.max_memo_entries,
            ));
        }
        self.memo.insert(index, id);
        Ok(())
    }

    fn memo_get(&mut self, index: u64) -> Result<(), DecodeError> {
        let id = u32::try_from(index)
            .ok()
            .and_then(|index| self.memo.get(index));
        let Some(id) = id else {
            return Err(self.malformed(format!("memo entry {index} does not exist")));
        };
        self.push(id)
    }

    fn str_of(&self, id: NodeId) -> Option<&str> {
        match &self.nodes[id as usize] {
            Node::Leaf(Value::Str(text)) => Some(text),
            _ => None,
        }
    }

    fn resolve(&self, module: &str, name: &str) -> Result<Node, DecodeError> {
        // Protocols 0 to 2 write Python 2's module names; Python 3 maps them back.
        let module = match module {
            "__builtin__" => "builtins",
            "copy_reg" => "copyreg",
            other => other,
        };
        let global = match (module, name) {
            ("huey.registry", "Message") => Global::Message,
            ("huey.utils", "Error") => Global::Error,
            ("huey.utils", "SKIPPED") => return Ok(Node::Leaf(Value::Skipped)),
            ("datetime", "datetime") => Global::DateTime,
            ("datetime", "date") => Global::Date,
            ("datetime", "timedelta") => Global::TimeDelta,
            ("datetime", "timezone") => Global::TimeZone,
            ("builtins", "set") => Global::Set,
            ("builtins", "frozenset") => Global::FrozenSet,
            ("builtins", "bytearray") => Global::ByteArray,
            ("builtins", "bytes") => Global::Bytes,
            ("builtins", "tuple") => Global::Tuple,
            ("_codecs", "encode") => Global::CodecsEncode,
            ("copyreg", "_reconstructor") => Global::Reconstructor,
            _ => {
                return Err(DecodeError::ForbiddenGlobal {
                    offset: self.op_start,
                    module: module.to_owned(),
                    name: name.to_owned(),
                });
            }
        };
        Ok(Node::Global(global))
    }

    fn global_of(&self, id: NodeId, opcode: &str) -> Result<Global, DecodeError> {
        match &self.nodes[id as usize] {
            Node::Global(global) => Ok(*global),
            other => Err(self.malformed(format!(
                "{opcode} applied to a {}, not a class",
                other.type_name()
            ))),
        }
    }

    /// The arguments of a call. None of the allowed callables takes more than a Message's 15,
    /// so longer tuples are refused before they are copied (a pickle could otherwise make every
    /// few bytes of input copy one huge tuple).
    fn tuple_items(&self, id: NodeId, what: &str) -> Result<Vec<NodeId>, DecodeError> {
        match &self.nodes[id as usize] {
            Node::Tuple(items) if items.len() > Message::FIELD_NAMES.len() => {
                Err(self.malformed(format!(
                    "{what} has {} items, more than any allowed class takes",
                    items.len()
                )))
            }
            Node::Tuple(items) => Ok(items.clone()),
            other => Err(self.malformed(format!(
                "{what} must be a tuple, not a {}",
                other.type_name()
            ))),
        }
    }

    fn int_of(&self, id: NodeId) -> Option<i64> {
        match &self.nodes[id as usize] {
            Node::Leaf(Value::Int(number)) => Some(*number),
            Node::Leaf(Value::Bool(flag)) => Some(i64::from(*flag)),
            _ => None,
        }
    }

    fn bytes_of(&self, id: NodeId) -> Option<&[u8]> {
        match &self.nodes[id as usize] {
            Node::Leaf(Value::Bytes(bytes)) => Some(bytes),
            _ => None,
        }
    }

    /// A class instantiated with `args` (`NEWOBJ`, or `REDUCE` on the class itself).
    fn instantiate(&self, class: Global, args: Vec<NodeId>) -> Result<Node, DecodeError> {
        match class {
            Global::Message => {
                if args.len() > Message::FIELD_NAMES.len() {
                    return Err(self.malformed(format!(
                        "huey.registry.Message takes at most 15 fields, not {}",
                        args.len()
                    )));
                }
                Ok(Node::Message(args))
            }
            Global::Error => match args[..] {
                [metadata] if matches!(self.nodes[metadata as usize], Node::Dict(_)) => {
                    Ok(Node::Error(metadata))
                }
                _ => Err(self.malformed("huey.utils.Error takes one argument, its metadata dict")),
            },
            other => self.call(other, args),
        }
    }

    /// A call of an allowed function or class (`REDUCE`).
    fn call(&self, callable: Global, args: Vec<NodeId>) -> Result<Node, DecodeError> {
        let bad =
            |expected: &str| self.malformed(format!("{} takes {expected}", global_name(callable)));
        match callable {
            Global::Message | Global::Error => self.instantiate(callable, args),
            Global::DateTime => {
                let (state, tz) = match args[..] {
                    [state] => (state, None),
                    [state, tz] => (state, Some(tz)),
                    _ => return Err(bad("its 10-byte state and an optional timezone")),
                };
                let state = self
                    .bytes_of(state)
                    .ok_or_else(|| bad("its 10-byte state as bytes"))?;
                let tz = match tz.map(|id| &self.nodes[id as usize]) {
                    None | Some(Node::Leaf(Value::None)) => None,
                    Some(Node::TimeZone(tz)) => Some(tz.clone()),
                    Some(other) => {
                        return Err(self.malformed(format!(
                            "datetime.datetime's tzinfo must be a datetime.timezone, not a {}",
                            other.type_name()
                        )));
                    }
                };
                let moment = DateTime::from_state(state)
                    .map_err(|error| self.malformed(error.to_string()))?;
                Ok(Node::Leaf(Value::DateTime(moment.with_tz(tz))))
            }
            Global::Date => {
                let [state] = args[..] else {
                    return Err(bad("its 4-byte state"));
                };
                let state = self
                    .bytes_of(state)
                    .ok_or_else(|| bad("its 4-byte state as bytes"))?;
                let day =
                    Date::from_state(state).map_err(|error| self.malformed(error.to_string()))?;
                Ok(Node::Leaf(Value::Date(day)))
            }
            Global::TimeDelta => {
                if args.len() > 3 {
                    return Err(bad("days, seconds and microseconds"));
                }
                let mut parts = [0i64; 3];
                for (part, &id) in parts.iter_mut().zip(&args) {
                    *part = self
                        .int_of(id)
                        .ok_or_else(|| bad("integer days, seconds and microseconds"))?;
                }
                let span = TimeDelta::new(parts[0], parts[1], parts[2])
                    .map_err(|error| self.malformed(error.to_string()))?;
                Ok(Node::Leaf(Value::TimeDelta(span)))
            }
            Global::TimeZone => {
                let (offset, name) = match args[..] {
                    [offset] => (offset, None),
                    [offset, name] => (offset, Some(name)),
                    _ => return Err(bad("an offset and an optional name")),
                };
                let Node::Leaf(Value::TimeDelta(offset)) = &self.nodes[offset as usize] else {
                    return Err(bad("a timedelta offset"));
                };
                if offset.total_microseconds().abs() >= 86_400_000_000 {
                    return Err(bad("an offset strictly within a day"));
                }
                let name = match name {
                    None => None,
                    Some(id) => Some(self.str_of(id).ok_or_else(|| bad("a str name"))?.to_owned()),
                };
                Ok(Node::TimeZone(TimeZone {
                    offset: *offset,
                    name,
                }))
            }
            Global::Set | Global::FrozenSet => {
                let items = match args[..] {
                    [] => Vec::new(),
                    [source] => match &self.nodes[source as usize] {
                        Node::List(items)
                        | Node::Tuple(items)
                        | Node::Set(items)
                        | Node::FrozenSet(items) => items.clone(),
                        _ => return Err(bad("a list, tuple or set")),
                    },
                    _ => return Err(bad("at most one argument")),
                };
                Ok(if callable == Global::Set {
                    Node::Set(items)
                } else {
                    Node::FrozenSet(items)
                })
            }
            Global::ByteArray => match args[..] {
                [] => Ok(Node::Leaf(Value::ByteArray(Vec::new()))),
                [source] => {
                    let bytes = self.bytes_of(source).ok_or_else(|| bad("bytes"))?;
                    Ok(Node::Leaf(Value::ByteArray(bytes.to_vec())))
                }
                _ => Err(bad("at most one argument")),
            },
            Global::Bytes => match args[..] {
                [] => Ok(Node::Leaf(Value::Bytes(Vec::new()))),
                _ => Err(bad("no arguments here (b'')")),
            },
            Global::CodecsEncode => {
                let [text, encoding] = args[..] else {
                    return Err(bad("a str and 'latin1'"));
                };
                let (Some(text), Some("latin1" | "latin-1")) =
                    (self.str_of(text), self.str_of(encoding))
                else {
                    return Err(bad("a str and 'latin1'"));
                };
                let bytes = text
                    .chars()
                    .map(|char| u8::try_from(u32::from(char)).map_err(|_| bad("latin-1 text")))
                    .collect::<Result<Vec<u8>, _>>()?;
                Ok(Node::Leaf(Value::Bytes(bytes)))
            }
            Global::Reconstructor => {
                let [class, base, state] = args[..] else {
                    return Err(bad("a class, builtins.tuple and the tuple's items"));
                };
                let class = self.global_of(class, "copyreg._reconstructor")?;
                if !matches!(class, Global::Message | Global::Error)
                    || self.global_of(base, "copyreg._reconstructor")? != Global::Tuple
                {
                    return Err(bad(
                        "huey.registry.Message or huey.utils.Error over builtins.tuple",
                    ));
                }
                let items = self.tuple_items(state, "copyreg._reconstructor's state")?;
                self.instantiate(class, items)
            }
            Global::Tuple => {
                Err(self.malformed("builtins.tuple is allowed only inside copyreg._reconstructor"))
            }
        }
    }

    fn run(&mut self) -> Result<NodeId, DecodeError> {
        loop {
            self.op_start = self.pos;
            let opcode = self.byte().map_err(|_| DecodeError::Truncated {
                offset: self.input.len(),
            })?;
            match opcode {
                op::PROTO => {
                    let protocol = self.byte()?;
                    if protocol > 5 {
                        return Err(DecodeError::UnsupportedProtocol {
                            offset: self.op_start,
                            protocol,
                        });
                    }
                }
                // Frames only help a streaming reader; the whole pickle is in memory here.
                op::FRAME => {
                    self.u64()?;
                }
                op::STOP => {
                    let root = self.pop()?;
                    return Ok(root);
                }
                op::MARK => {
                    if self.marks.len() >= self.limits.max_depth {
                        return Err(self.limit(
                            "open MARKs",
                            self.marks.len() as u64 + 1,
                            self.limits.max_depth,
                        ));
                    }
                    self.marks.push(self.stack.len());
                }
                op::POP => {
                    // Python's POP discards a MARK when nothing is above it.
                    if self.stack.len() > self.floor() {
                        self.stack.pop();
                    } else {
                        self.pop_mark()?;
                    }
                }
                op::POP_MARK => {
                    self.pop_mark()?;
                }
                op::DUP => {
                    let top = self.top()?;
                    self.push(top)?;
                }
                op::NONE => self.push(NONE)?,
                op::NEWTRUE => self.push(TRUE)?,
                op::NEWFALSE => self.push(FALSE)?,
                op::BININT1 => {
                    let number = self.byte()?;
                    self.push_leaf(Value::Int(number.into()))?;
                }
                op::BININT2 => {
                    let number = u16::from_le_bytes(self.array()?);
                    self.push_leaf(Value::Int(number.into()))?;
                }
                op::BININT => {
                    let number = i32::from_le_bytes(self.array()?);
                    self.push_leaf(Value::Int(number.into()))?;
                }
                op::LONG1 => {
                    let len = self.byte()?;
                    let bytes = self.take(len.into())?;
                    self.push_leaf(BigInt::from_le_bytes(bytes).into_value())?;
                }
                op::LONG4 => {
                    let len = i32::from_le_bytes(self.array()?);
                    let len = u64::try_from(len)
                        .map_err(|_| self.malformed("LONG4 with a negative length"))?;
                    let bytes = self.string_bytes(len)?;
                    self.push_leaf(BigInt::from_le_bytes(bytes).into_value())?;
                }
                op::INT => {
                    let line = self.line()?;
                    let value = match line {
                        b"01" => Value::Bool(true),
                        b"00" => Value::Bool(false),
                        digits => Value::Int(
                            std::str::from_utf8(digits)
                                .ok()
                                .and_then(|text| text.trim().parse().ok())
                                .ok_or_else(|| self.malformed("INT is not a 64-bit integer"))?,
                        ),
                    };
                    self.push_leaf(value)?;
                }
                op::LONG => {
                    let line = self.line()?;
                    let digits = line.strip_suffix(b"L").unwrap_or(line);
                    let number = decimal_to_big_int(digits).ok_or_else(|| {
                        self.malformed("LONG is not a decimal integer of at most 4300 digits")
                    })?;
                    self.push_leaf(number.into_value())?;
                }
                op::FLOAT => {
                    let line = self.line()?;
                    let number: f64 = std::str::from_utf8(line)
                        .ok()
                        .and_then(|text| text.trim().parse().ok())
                        .ok_or_else(|| self.malformed("FLOAT is not a number"))?;
                    self.push_leaf(Value::Float(number))?;
                }
                op::BINFLOAT => {
                    let number = f64::from_be_bytes(self.array()?);
                    self.push_leaf(Value::Float(number))?;
                }
                op::SHORT_BINUNICODE => {
                    let len = self.byte()?;
                    let text = self.string_bytes(len.into())?;
                    let text = self.utf8(text)?;
                    self.push_leaf(Value::Str(text))?;
                }
                op::BINUNICODE => {
                    let len = self.u32()?;
                    let text = self.string_bytes(len.into())?;
                    let text = self.utf8(text)?;
                    self.push_leaf(Value::Str(text))?;
                }
                op::BINUNICODE8 => {
                    let len = self.u64()?;
                    let text = self.string_bytes(len)?;
                    let text = self.utf8(text)?;
                    self.push_leaf(Value::Str(text))?;
                }
                op::UNICODE => {
                    let line = self.line()?;
                    let text = raw_unicode_escape(line)
                        .ok_or_else(|| self.malformed("UNICODE has a bad escape"))?;
                    self.push_leaf(Value::Str(text))?;
                }
                // Python 2 `str`s, which Python 3 reads as ASCII text by default.
                op::SHORT_BINSTRING | op::BINSTRING => {
                    let len = if opcode == op::SHORT_BINSTRING {
                        u64::from(self.byte()?)
                    } else {
                        u64::try_from(i32::from_le_bytes(self.array()?))
                            .map_err(|_| self.malformed("BINSTRING with a negative length"))?
                    };
                    let bytes = self.string_bytes(len)?;
                    if !bytes.is_ascii() {
                        return Err(self.malformed("a Python 2 str that is not ASCII"));
                    }
                    let text = self.utf8(bytes)?;
                    self.push_leaf(Value::Str(text))?;
                }
                op::SHORT_BINBYTES => {
                    let len = self.byte()?;
                    let bytes = self.string_bytes(len.into())?;
                    self.push_leaf(Value::Bytes(bytes.to_vec()))?;
                }
                op::BINBYTES => {
                    let len = self.u32()?;
                    let bytes = self.string_bytes(len.into())?;
                    self.push_leaf(Value::Bytes(bytes.to_vec()))?;
                }
                op::BINBYTES8 => {
                    let len = self.u64()?;
                    let bytes = self.string_bytes(len)?;
                    self.push_leaf(Value::Bytes(bytes.to_vec()))?;
                }
                op::BYTEARRAY8 => {
                    let len = self.u64()?;
                    let bytes = self.string_bytes(len)?;
                    self.push_leaf(Value::ByteArray(bytes.to_vec()))?;
                }
                op::EMPTY_TUPLE => self.push_new(Node::Tuple(Vec::new()))?,
                op::TUPLE => {
                    let items = self.pop_mark()?;
                    self.push_new(Node::Tuple(items))?;
                }
                op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                    let len = usize::from(opcode - op::TUPLE1 + 1);
                    if self.stack.len() < self.floor() + len {
                        return Err(
                            self.malformed(format!("TUPLE{len} needs {len} items on the stack"))
                        );
                    }
                    let items = self.stack.split_off(self.stack.len() - len);
                    self.push_new(Node::Tuple(items))?;
                }
                op::EMPTY_LIST => self.push_new(Node::List(Vec::new()))?,
                op::LIST => {
                    let items = self.pop_mark()?;
                    self.push_new(Node::List(items))?;
                }
                op::APPEND => {
                    let item = self.pop()?;
                    let list = self.top()?;
                    self.extend_list(list, vec![item])?;
                }
                op::APPENDS => {
                    let items = self.pop_mark()?;
                    let list = self.top()?;
                    self.extend_list(list, items)?;
                }
                op::EMPTY_DICT => self.push_new(Node::Dict(Vec::new()))?,
                op::DICT => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    self.push_new(Node::Dict(pairs))?;
                }
                op::SETITEM => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    let dict = self.top()?;
                    self.extend_dict(dict, vec![(key, value)])?;
                }
                op::SETITEMS => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    let dict = self.top()?;
                    self.extend_dict(dict, pairs)?;
                }
                op::EMPTY_SET => self.push_new(Node::Set(Vec::new()))?,
                op::ADDITEMS => {
                    let items = self.pop_mark()?;
                    let set = self.top()?;
                    self.add_references(items.len())?;
                    let Node::Set(members) = &mut self.nodes[set as usize] else {
                        return Err(self.malformed("ADDITEMS needs a set"));
                    };
                    members.extend(items);
                }
                op::FROZENSET => {
                    let items = self.pop_mark()?;
                    self.push_new(Node::FrozenSet(items))?;
                }
                op::PUT => {
                    let line = self.line()?;
                    let index = parse_index(line)
                        .ok_or_else(|| self.malformed("PUT's index is not a number"))?;
                    self.memo_put(index)?;
                }
                op::BINPUT => {
                    let index = self.byte()?;
                    self.memo_put(index.into())?;
                }
                op::LONG_BINPUT => {
                    let index = self.u32()?;
                    self.memo_put(index)?;
                }
                op::MEMOIZE => {
                    let index = u32::try_from(self.memo.len)
                        .map_err(|_| self.malformed("memo overflow"))?;
                    self.memo_put(index)?;
                }
                op::GET => {
                    let line = self.line()?;
                    let index = parse_index(line)
                        .ok_or_else(|| self.malformed("GET's index is not a number"))?;
                    self.memo_get(index.into())?;
                }
                op::BINGET => {
                    let index = self.byte()?;
                    self.memo_get(index.into())?;
                }
                op::LONG_BINGET => {
                    let index = self.u32()?;
                    self.memo_get(index.into())?;
                }
                op::GLOBAL => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let (Ok(module), Ok(name)) =
                        (std::str::from_utf8(module), std::str::from_utf8(name))
                    else {
                        return Err(self.malformed("GLOBAL's names are not UTF-8"));
                    };
                    let node = self.resolve(module, name)?;
                    self.push_new(node)?;
                }
                op::STACK_GLOBAL => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Some(module), Some(name)) = (self.str_of(module), self.str_of(name))
                    else {
                        return Err(self.malformed("STACK_GLOBAL needs a module and a name as str"));
                    };
                    let node = self.resolve(module, name)?;
                    self.push_new(node)?;
                }
                op::REDUCE => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let callable = self.global_of(callable, "REDUCE")?;
                    let args = self.tuple_items(args, "REDUCE's arguments")?;
                    let node = self.call(callable, args)?;
                    self.push_new(node)?;
                }
                op::NEWOBJ => {
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let class = self.global_of(class, "NEWOBJ")?;
                    let args = self.tuple_items(args, "NEWOBJ's arguments")?;
                    let node = self.construct(class, args)?;
                    self.push_new(node)?;
                }
                op::NEWOBJ_EX => {
                    let kwargs = self.pop()?;
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let class = self.global_of(class, "NEWOBJ_EX")?;
                    if !matches!(&self.nodes[kwargs as usize], Node::Dict(pairs) if pairs.is_empty())
                    {
                        return Err(
                            self.malformed("NEWOBJ_EX with keyword arguments is not supported")
                        );
                    }
                    let args = self.tuple_items(args, "NEWOBJ_EX's arguments")?;
                    let node = self.construct(class, args)?;
                    self.push_new(node)?;
                }
                op::BUILD => {
                    // None of the allowed classes has state beyond its arguments.
                    let state = self.pop()?;
                    let target = self.top()?;
                    let empty = match &self.nodes[state as usize] {
                        Node::Leaf(Value::None) => true,
                        Node::Dict(pairs) => pairs.is_empty(),
                        _ => false,
                    };
                    if !empty {
                        return Err(self.malformed(format!(
                            "BUILD with state on a {} is not supported",
                            self.nodes[target as usize].type_name()
                        )));
                    }
                }
                op::STRING => return Err(self.unsupported("STRING")),
                op::PERSID => return Err(self.unsupported("PERSID")),
                op::BINPERSID => return Err(self.unsupported("BINPERSID")),
                op::EXT1 => return Err(self.unsupported("EXT1")),
                op::EXT2 => return Err(self.unsupported("EXT2")),
                op::EXT4 => return Err(self.unsupported("EXT4")),
                op::INST => return Err(self.unsupported("INST")),
                op::OBJ => return Err(self.unsupported("OBJ")),
                op::NEXT_BUFFER => return Err(self.unsupported("NEXT_BUFFER")),
                op::READONLY_BUFFER => return Err(self.unsupported("READONLY_BUFFER")),
                other => {
                    return Err(DecodeError::UnknownOpcode {
                        offset: self.op_start,
                        opcode: other,
                    });
                }
            }
        }
    }

    fn construct(&self, class: Global, args: Vec<NodeId>) -> Result<Node, DecodeError> {
        if !matches!(class, Global::Message | Global::Error) {
            return Err(
                self.malformed(format!("NEWOBJ on {} is not supported", global_name(class)))
            );
        }
        self.instantiate(class, args)
    }

    fn unsupported(&self, name: &'static str) -> DecodeError {
        DecodeError::UnsupportedOpcode {
            offset: self.op_start,
            name,
        }
    }

    fn extend_list(&mut self, list: NodeId, items: Vec<NodeId>) -> Result<(), DecodeError> {
        self.add_references(items.len())?;
        let Node::List(existing) = &mut self.nodes[list as usize] else {
            return Err(self.malformed("APPEND needs a list"));
        };
        existing.extend(items);
        Ok(())
    }

    fn extend_dict(
        &mut self,
        dict: NodeId,
        pairs: Vec<(NodeId, NodeId)>,
    ) -> Result<(), DecodeError> {
        self.add_references(pairs.len() * 2)?;
        let Node::Dict(existing) = &mut self.nodes[dict as usize] else {
            return Err(self.malformed("SETITEM needs a dict"));
        };
        existing.extend(pairs);
        Ok(())
    }

    fn pairs(&self, items: Vec<NodeId>) -> Result<Vec<(NodeId, NodeId)>, DecodeError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.malformed("a dict needs keys and values in pairs"));
        }
        Ok(items
            .chunks_exact(2)
            .map(|pair| (pair[0], pair[1]))
            .collect())
    }
}

fn global_name(global: Global) -> &'static str {
    match global {
        Global::Message => "huey.registry.Message",
        Global::Error => "huey.utils.Error",
        Global::DateTime => "datetime.datetime",
        Global::Date => "datetime.date",
        Global::TimeDelta => "datetime.timedelta",
        Global::TimeZone => "datetime.timezone",
        Global::Set => "builtins.set",
        Global::FrozenSet => "builtins.frozenset",
        Global::ByteArray => "builtins.bytearray",
        Global::Bytes => "builtins.bytes",
        Global::Tuple => "builtins.tuple",
        Global::CodecsEncode => "_codecs.encode",
        Global::Reconstructor => "copyreg._reconstructor",
    }
}

fn parse_index(line: &[u8]) -> Option<u32> {
    std::str::from_utf8(line).ok()?.trim().parse().ok()
}

/// A decimal integer (protocol 0's LONG) as a [`BigInt`]. Like Python's own `int()`, it takes
/// at most 4300 digits, which also keeps this quadratic conversion cheap.
fn decimal_to_big_int(text: &[u8]) -> Option<BigInt> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    if digits.is_empty() || digits.len() > 4300 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // The magnitude in little-endian 32-bit limbs, fed nine digits at a time (a quarter of
    // the work of digit by digit over bytes, which matters when a hostile pickle is all LONGs).
    let mut limbs: Vec<u32> = Vec::new();
    let first = digits.len() % 9;
    let chunks = std::iter::once(&digits[..first])
        .chain(digits[first..].chunks(9))
        .filter(|chunk| !chunk.is_empty());
    for chunk in chunks {
        let scale = 10u64.pow(chunk.len() as u32);
        let mut carry = chunk
            .iter()
            .fold(0u64, |sum, digit| sum * 10 + u64::from(digit - b'0'));
        for limb in &mut limbs {
            let product = u64::from(*limb) * scale + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    let mut magnitude: Vec<u8> = limbs.iter().flat_map(|limb| limb.to_le_bytes()).collect();
    // A zero byte on top keeps the sign bit clear; negation is invert-and-add-one.
    magnitude.push(0);
    if negative {
        let mut carry = true;
        for byte in &mut magnitude {
            let (sum, overflow) = (!*byte).overflowing_add(u8::from(carry));
            *byte = sum;
            carry = overflow;
        }
    }
    Some(BigInt::from_le_bytes(&magnitude))
}

/// Python's `raw-unicode-escape`: latin-1 bytes, except `\uXXXX` and `\UXXXXXXXX`.
fn raw_unicode_escape(bytes: &[u8]) -> Option<String> {
    let mut text = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&byte, tail)) = rest.split_first() {
        let digits = match (byte, tail.first()) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            _ => {
                text.push(char::from(byte));
                rest = tail;
                continue;
            }
        };
        let hex = tail.get(1..1 + digits)?;
        let code = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
        text.push(char::from_u32(code)?);
        rest = &tail[1 + digits..];
    }
    Some(text)
}

/// Turns the arena into a tree, iteratively, counting what a shared object costs at each
/// place it appears.
struct Materializer<'a> {
    nodes: Vec<Node>,
    /// How many places refer to each object: one that appears once is moved into the result,
    /// not copied.
    uses: Vec<u32>,
    limits: &'a Limits,
    /// The offset of STOP, where errors found here are reported.
    offset: usize,
    on_path: Vec<bool>,
    values: usize,
    string_bytes: usize,
}

enum Step {
    /// An object to build at a depth; `once` when it appears at this place only (it and every
    /// container above it are referred to once), so it can be moved rather than copied.
    Visit {
        id: NodeId,
        depth: usize,
        once: bool,
    },
    Close(NodeId),
}

impl<'a> Materializer<'a> {
    fn new(nodes: Vec<Node>, root: NodeId, limits: &'a Limits, offset: usize) -> Self {
        let mut uses = vec![0u32; nodes.len()];
        let mut count = |id: NodeId| uses[id as usize] = uses[id as usize].saturating_add(1);
        count(root);
        for node in &nodes {
            match node {
                Node::List(items)
                | Node::Tuple(items)
                | Node::Set(items)
                | Node::FrozenSet(items)
                | Node::Message(items) => items.iter().copied().for_each(&mut count),
                Node::Dict(pairs) => pairs.iter().for_each(|&(key, value)| {
                    count(key);
                    count(value);
                }),
                Node::Error(metadata) => count(*metadata),
                Node::Leaf(_) | Node::Global(_) | Node::TimeZone(_) => {}
            }
        }
        let on_path = vec![false; nodes.len()];
        Materializer {
            nodes,
            uses,
            limits,
            offset,
            on_path,
            values: 0,
            string_bytes: 0,
        }
    }

    fn malformed(&self, message: impl Into<String>) -> DecodeError {
        DecodeError::Malformed {
            offset: self.offset,
            message: message.into(),
        }
    }

    fn limit(&self, what: &'static str, actual: usize, limit: usize) -> DecodeError {
        DecodeError::LimitExceeded {
            offset: self.offset,
            what,
            actual: actual as u64,
            limit,
        }
    }

    /// Schedules the children of container `id` to be built, in order.
    fn visit_children(&self, id: NodeId, depth: usize, once: bool, steps: &mut Vec<Step>) {
        let visit = |child: NodeId| Step::Visit {
            id: child,
            depth: depth + 1,
            once: once && self.uses[child as usize] == 1,
        };
        match &self.nodes[id as usize] {
            Node::List(items)
            | Node::Tuple(items)
            | Node::Set(items)
            | Node::FrozenSet(items)
            | Node::Message(items) => steps.extend(items.iter().rev().map(|&child| visit(child))),
            Node::Dict(pairs) => steps.extend(
                pairs
                    .iter()
                    .rev()
                    .flat_map(|&(key, value)| [visit(value), visit(key)]),
            ),
            Node::Error(metadata) => steps.push(visit(*metadata)),
            Node::Leaf(_) | Node::Global(_) | Node::TimeZone(_) => {}
        }
    }

    fn build(mut self, root: NodeId) -> Result<Value, DecodeError> {
        let once = self.uses[root as usize] == 1;
        let mut steps = vec![Step::Visit {
            id: root,
            depth: 0,
            once,
        }];
        let mut built: Vec<Value> = Vec::new();
        while let Some(step) = steps.pop() {
            match step {
                Step::Visit { id, depth, once } => {
                    self.values += 1;
                    if self.values > self.limits.max_values {
                        return Err(self.limit(
                            "values in the result",
                            self.values,
                            self.limits.max_values,
                        ));
                    }
                    match &self.nodes[id as usize] {
                        Node::Leaf(_) => {
                            let value = self.leaf(id, once);
                            built.push(value?);
                        }
                        Node::Global(global) => {
                            return Err(self.malformed(format!(
                                "{} is a class or function, not a value this reader can return",
                                global_name(*global)
                            )));
                        }
                        Node::TimeZone(_) => {
                            return Err(self.malformed(
                                "a datetime.timezone is supported only as a datetime's tzinfo",
                            ));
                        }
                        _ => {
                            if depth >= self.limits.max_depth {
                                return Err(self.limit(
                                    "nesting depth",
                                    depth + 1,
                                    self.limits.max_depth,
                                ));
                            }
                            if self.on_path[id as usize] {
                                return Err(self.malformed(
                                    "the value contains itself (a cycle), which a tree cannot hold",
                                ));
                            }
                            self.on_path[id as usize] = true;
                            steps.push(Step::Close(id));
                            self.visit_children(id, depth, once, &mut steps);
                        }
                    }
                }
                Step::Close(id) => {
                    self.on_path[id as usize] = false;
                    let value = self.close(id, &mut built)?;
                    built.push(value);
                }
            }
        }
        Ok(built.pop().expect("the root was built"))
    }

    /// The scalar `id`, moved out if it appears `once`, and counted against the limits.
    fn leaf(&mut self, id: NodeId, once: bool) -> Result<Value, DecodeError> {
        let Node::Leaf(value) = &mut self.nodes[id as usize] else {
            unreachable!("called for leaves only");
        };
        let len = match value {
            Value::Str(text) => text.len(),
            Value::Bytes(bytes) | Value::ByteArray(bytes) => bytes.len(),
            _ => 0,
        };
        let value = if once {
            std::mem::take(value)
        } else {
            value.clone()
        };
        self.string_bytes += len;
        if self.string_bytes > self.limits.max_total_string_bytes {
            return Err(self.limit(
                "string bytes in the result",
                self.string_bytes,
                self.limits.max_total_string_bytes,
            ));
        }
        Ok(value)
    }

    /// The container `id`, from its children's values on top of `built`.
    fn close(&self, id: NodeId, built: &mut Vec<Value>) -> Result<Value, DecodeError> {
        let node = &self.nodes[id as usize];
        let count = match node {
            Node::List(items)
            | Node::Tuple(items)
            | Node::Set(items)
            | Node::FrozenSet(items)
            | Node::Message(items) => items.len(),
            Node::Dict(pairs) => pairs.len() * 2,
            Node::Error(_) => 1,
            Node::Leaf(_) | Node::Global(_) | Node::TimeZone(_) => {
                unreachable!("only containers are closed")
            }
        };
        let mut items = built.split_off(built.len() - count);
        let hashable = |members: &[Value], what: &str| match members
            .iter()
            .find(|member| !member.is_hashable())
        {
            Some(member) => Err(self.malformed(format!(
                "a {} cannot be a {what} (it is unhashable)",
                member.type_name()
            ))),
            None => Ok(()),
        };
        Ok(match node {
            Node::List(_) => Value::List(items),
            Node::Tuple(_) => Value::Tuple(items),
            Node::Set(_) => {
                hashable(&items, "set member")?;
                Value::Set(items)
            }
            Node::FrozenSet(_) => {
                hashable(&items, "frozenset member")?;
                Value::FrozenSet(items)
            }
            Node::Dict(_) => Value::Dict(self.pairs_of(items)?),
            Node::Message(_) => Value::Message(Box::new(
                Message::from_fields(items).expect("at most 15 fields were checked"),
            )),
            Node::Error(_) => match &mut items[0] {
                Value::Dict(pairs) => Value::Error(std::mem::take(pairs)),
                _ => unreachable!("Error's argument was checked to be a dict"),
            },
            Node::Leaf(_) | Node::Global(_) | Node::TimeZone(_) => {
                unreachable!("only containers are closed")
            }
        })
    }

    fn pairs_of(&self, items: Vec<Value>) -> Result<Vec<(Value, Value)>, DecodeError> {
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut items = items.into_iter();
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            if !key.is_hashable() {
                return Err(self.malformed(format!(
                    "a {} cannot be a dict key (it is unhashable)",
                    key.type_name()
                )));
            }
            pairs.push((key, value));
        }
        Ok(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_longs_convert_at_any_size() {
        assert_eq!(decimal_to_big_int(b"0"), Some(BigInt::from_i128(0)));
        assert_eq!(decimal_to_big_int(b"-1"), Some(BigInt::from_i128(-1)));
        assert_eq!(decimal_to_big_int(b"-128"), Some(BigInt::from_i128(-128)));
        assert_eq!(
            decimal_to_big_int(b"170141183460469231731687303715884105727"),
            Some(BigInt::from_i128(i128::MAX))
        );
        assert_eq!(
            decimal_to_big_int(b"-170141183460469231731687303715884105728"),
            Some(BigInt::from_i128(i128::MIN))
        );
        assert_eq!(decimal_to_big_int(b"12x"), None);
        assert_eq!(
            decimal_to_big_int(b"1234567890123"),
            Some(BigInt::from_i128(1_234_567_890_123))
        );
        let huge = format!("-{}", "9".repeat(4300));
        let huge = decimal_to_big_int(huge.as_bytes()).expect("4300 digits are allowed");
        assert!(huge.is_negative() && huge.as_le_bytes().len() > 1700);
        assert_eq!(decimal_to_big_int(&[b'9'; 4301]), None);
    }
}
