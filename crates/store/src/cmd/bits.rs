//! Bit commands (to be written).
