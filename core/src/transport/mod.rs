//! How PHP processes hand items to the daemon: SysV message queues, whose
//! messages carry spool frames, with the spool itself as the fallback.

pub mod message;
pub mod sysv;
