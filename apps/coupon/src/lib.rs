//! The coupon-issuing service: an HTTP API that issues limited coupons first come first
//! served through one atomic server-side function, workers that persist what was issued to
//! SQL, and a load generator that checks nothing confirmed was lost through a failover.

pub mod api;
pub mod cli;
pub mod db;
pub mod durability;
pub mod issue;
pub mod load;
pub mod model;
pub mod primary;
pub mod worker;
