// Step 06.2, admit: `try_acquire_owned` takes the `Arc` itself (the permit keeps the
// semaphore alive), but the executor only lends it. (A stand-in for tokio's
// Semaphore, whose `try_acquire_owned(self: Arc<Self>)` has the same receiver.)
use std::sync::Arc;

pub struct Semaphore;
pub struct OwnedPermit(Arc<Semaphore>);

impl Semaphore {
    pub fn try_acquire_owned(self: Arc<Self>) -> Option<OwnedPermit> {
        Some(OwnedPermit(self))
    }
}

pub fn admit(in_flight: &Arc<Semaphore>) -> Option<OwnedPermit> {
    in_flight.try_acquire_owned()
}
