//! The daemon runner's processes: the [`supervisor`] (master), the receiver that
//! journals the queue ([`journal`]), and the workers that deliver ([`worker`]);
//! plus the one-shot [`drain`].

pub mod journal;
pub mod lock;
pub mod signals;
pub mod status;
pub mod supervisor;
pub mod worker;

use crate::delivery::Host;
use crate::spool::Spool;
use crate::transport::sysv::Queue;

/// Delivers everything the queue and the spool hold for the jobs registered in the
/// runtime, then returns. Log lines go to the host.
pub fn drain<H: Host>(host: &H, queue: Option<Queue>, spool: Spool) -> worker::Report {
    for line in supervisor::ingest_all(queue, spool) {
        host.log(&line);
    }
    worker::run(host, true, None)
}
