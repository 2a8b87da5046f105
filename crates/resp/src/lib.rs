//! RESP2/RESP3 wire format: request parsing and reply writing, with no I/O.
//!
//! The request parser follows Redis 7.0's rules byte for byte (strict CR LF
//! multibulk headers, inline commands with Redis's quoting, the exact
//! protocol-error texts and the limits before and after authentication).

mod double;
mod frame;
mod parser;
mod split;
mod writer;

pub use double::{format_double, format_human_double};
pub use frame::{parse_frame, Frame, FrameError};
pub use parser::{Limits, ProtocolError, Request, RequestParser};
pub use split::split_args;
pub use writer::{encode_command, Out, Protocol};
