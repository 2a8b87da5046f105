//! The Sentinel process: links, the client port, events, the log and the config file.
