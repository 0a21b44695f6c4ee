//! Stand-in workloads for measurements and later chapters' task kinds: one that
//! only waits (like a network call) and one that only computes (like real work).
//! The difference between the two is the whole story of threads and the GIL.

use std::thread;
use std::time::Duration;

/// Waits without using the CPU, as a request to a slow service would.
pub fn wait_for(pause: Duration) {
    thread::sleep(pause);
}

// ANCHOR: count_primes
/// Counts the primes below `limit` by trial division: deliberately plain, CPU-bound
/// work with no memory traffic, so it scales with cores and nothing else.
pub fn count_primes(limit: u64) -> u64 {
    let is_prime = |n: u64| {
        n >= 2
            && (2..)
                .take_while(|d| d * d <= n)
                .all(|d| !n.is_multiple_of(d))
    };
    (0..limit).filter(|&n| is_prime(n)).count() as u64
}
// ANCHOR_END: count_primes

#[cfg(test)]
mod tests {
    use super::count_primes;

    #[test]
    fn counts_known_prime_totals() {
        assert_eq!(count_primes(0), 0);
        assert_eq!(count_primes(10), 4);
        assert_eq!(count_primes(100), 25);
        assert_eq!(count_primes(10_000), 1_229);
    }
}
