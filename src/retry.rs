//! The one retry policy every loop follows: capped exponential backoff with jitter, a bounded
//! or unbounded number of retries, and the caller's say on which errors are worth retrying
//! (normally [`Error::is_transient`], which the drivers' error codes decide: see
//! `db::mysql_error`, `sink::jdbc::db::pg_error`, `kafka::kafka_error`).
//!
//! Connect's fixed delays (`connection.backoff.ms`, `retry.backoff.ms`) are policies with a
//! multiplier of 1. Jitter (±20%) keeps tasks that failed together from retrying in lockstep.
//!
//! [`retry`] runs an operation to success or the end of the policy; [`Backoff`] serves loops
//! that do more than retry one call (the source reader's poll loop).

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::error::{Error, Result};

/// How often and how far apart to retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt; `None`: until the caller stops.
    pub(crate) max_retries: Option<u32>,
    /// The delay before the first retry.
    pub(crate) initial_delay: Duration,
    /// The longest delay.
    pub(crate) max_delay: Duration,
    /// Each delay is the previous one times this (1: fixed delays).
    pub(crate) multiplier: u32,
}

impl RetryPolicy {
    /// The same delay between up to `max_retries` retries (Connect's `*.backoff.ms`).
    pub(crate) const fn fixed(delay: Duration, max_retries: u32) -> Self {
        RetryPolicy {
            max_retries: Some(max_retries),
            initial_delay: delay,
            max_delay: delay,
            multiplier: 1,
        }
    }

    /// Doubling delays from `initial_delay` up to `max_delay`, without end.
    pub(crate) const fn exponential(initial_delay: Duration, max_delay: Duration) -> Self {
        RetryPolicy {
            max_retries: None,
            initial_delay,
            max_delay,
            multiplier: 2,
        }
    }

    pub(crate) fn backoff(&self) -> Backoff {
        Backoff {
            policy: *self,
            retries: 0,
            delay: self.initial_delay,
        }
    }
}

/// The delays of one run of a policy.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    policy: RetryPolicy,
    retries: u32,
    delay: Duration,
}

impl Backoff {
    /// The delay before the next retry (jittered), or `None` when the policy is spent.
    pub(crate) fn next_delay(&mut self) -> Option<Duration> {
        if self
            .policy
            .max_retries
            .is_some_and(|max| self.retries >= max)
        {
            return None;
        }
        self.retries += 1;
        let delay = self.delay;
        self.delay = self
            .delay
            .saturating_mul(self.policy.multiplier.max(1))
            .min(self.policy.max_delay);
        Some(jitter(delay))
    }

    /// Retries so far.
    pub(crate) fn retries(&self) -> u32 {
        self.retries
    }

    /// Starts over after a success.
    pub(crate) fn reset(&mut self) {
        self.retries = 0;
        self.delay = self.policy.initial_delay;
    }
}

/// `delay` scaled by a random factor in [0.8, 1.2].
fn jitter(delay: Duration) -> Duration {
    // A fresh RandomState is randomly keyed: enough randomness for spreading retries.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let per_mille = 800 + random % 401;
    delay.mul_f64(per_mille as f64 / 1000.0)
}

/// Runs `operation` until it succeeds, `should_retry` declines its error, or `policy` is spent;
/// `on_retry` sees each error retried with the retry's number and delay (for logs, metrics and
/// resetting state such as a broken connection).
pub(crate) async fn retry<T, Op, Fut>(
    policy: RetryPolicy,
    mut operation: Op,
    should_retry: impl Fn(&Error) -> bool,
    mut on_retry: impl FnMut(&Error, u32, Duration),
) -> Result<T>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut backoff = policy.backoff();
    loop {
        match operation().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                if !should_retry(&error) {
                    return Err(error);
                }
                let Some(delay) = backoff.next_delay() else {
                    return Err(error);
                };
                on_retry(&error, backoff.retries(), delay);
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn delays_double_up_to_the_cap_with_jitter() {
        let mut backoff =
            RetryPolicy::exponential(Duration::from_millis(100), Duration::from_secs(1)).backoff();
        let expected = [100, 200, 400, 800, 1000, 1000];
        for millis in expected {
            let delay = backoff.next_delay().unwrap().as_millis() as u64;
            assert!(
                (millis * 8 / 10..=millis * 12 / 10).contains(&delay),
                "{delay} vs {millis}"
            );
        }
        backoff.reset();
        assert!(backoff.next_delay().unwrap() <= Duration::from_millis(120));
    }

    #[test]
    fn fixed_policies_end() {
        let mut backoff = RetryPolicy::fixed(Duration::from_millis(10), 2).backoff();
        assert!(backoff.next_delay().is_some());
        assert!(backoff.next_delay().is_some());
        assert_eq!(backoff.next_delay(), None);
        assert_eq!(backoff.retries(), 2);
    }

    #[tokio::test]
    async fn retries_only_what_should_be_retried() {
        let policy = RetryPolicy::fixed(Duration::from_millis(1), 3);
        let mut calls = 0;
        let mut seen = Vec::new();
        let result: Result<u32> = retry(
            policy,
            || {
                calls += 1;
                let call = calls;
                async move {
                    if call < 3 {
                        Err(Error::new(ErrorKind::Database, "gone").transient())
                    } else {
                        Ok(call)
                    }
                }
            },
            Error::is_transient,
            |_, retry, _| seen.push(retry),
        )
        .await;
        assert_eq!(result.unwrap(), 3);
        assert_eq!(seen, [1, 2]);

        let mut calls = 0;
        let result: Result<()> = retry(
            policy,
            || {
                calls += 1;
                async { Err(Error::new(ErrorKind::Config, "bad")) }
            },
            Error::is_transient,
            |_, _, _| {},
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 1, "a permanent error is not retried");

        let mut calls = 0;
        let result: Result<()> = retry(
            policy,
            || {
                calls += 1;
                async { Err(Error::new(ErrorKind::Database, "gone").transient()) }
            },
            Error::is_transient,
            |_, _, _| {},
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 4, "first attempt plus max_retries");
    }
}
