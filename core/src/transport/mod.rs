//! How items travel: from PHP processes to the daemon over SysV message queues,
//! whose messages carry spool frames (the spool itself as the fallback), and from
//! a host's daemon to consumers on other hosts over Redis Streams.

pub mod message;
pub mod redis;
pub mod sysv;
