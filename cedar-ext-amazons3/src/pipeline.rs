//! The upload pipeline, the one that the amazons3 action and the sync tool send their objects
//! through: several objects at once, at most `jobs` (`<amazons3><upload_jobs>`, the sync
//! tool's `--jobs`), each one by the same per-object code as one at a time (its checksum, its
//! encryption, its multipart upload and abort, its error naming the key).
//!
//! The uploads are tasks of the client's own runtime (a `JoinSet` of blocking tasks on its
//! blocking pool, joined by the thread that runs the pipeline, which drives the connections
//! meanwhile): no second runtime, and reading and hashing the files use both cores while the
//! requests wait on the server. Memory stays bounded: each upload streams its file (or its
//! spooled part) through fixed buffers, so at most `jobs` sets of them are in use.
//!
//! A failure or an interrupt stops new uploads from starting; those in flight end as they end
//! (an interrupt aborts them: every request gives up on it, and a multipart upload is then
//! aborted), and the first failure is returned.

use std::sync::Arc;

use tokio::task::JoinSet;

use crate::client::S3;

/// The concurrent uploads when nothing says otherwise: enough to hide the round trips of small
/// objects (the AWS CLI runs 10), few enough that memory stays small (a few hundred KiB each)
/// and that a throttling server is not flooded.
pub const DEFAULT_JOBS: usize = 8;

/// The most concurrent uploads accepted.
pub const MAX_JOBS: usize = 64;

/// Runs `work` on every item, at most `jobs` at a time, on `s3`'s runtime, and returns the
/// results in the items' order; `done` sees each result on the calling thread as it comes
/// (in completion order, for running totals that a failure does not lose). After the first
/// failure, or an interrupt (`interrupted(ITEM)`, naming the item it kept from starting, is
/// then the failure unless a task failed first), no further item is started; the tasks
/// already running are waited for.
pub fn run<T, R, E>(
    s3: &S3,
    jobs: usize,
    items: Vec<T>,
    work: impl Fn(T) -> Result<R, E> + Send + Sync + 'static,
    mut done: impl FnMut(&R),
    interrupted: impl Fn(&T) -> E,
) -> Result<Vec<R>, E>
where
    T: Send + 'static,
    R: Send + 'static,
    E: Send + 'static,
{
    let work = Arc::new(work);
    let jobs = jobs.clamp(1, MAX_JOBS);
    s3.runtime().block_on(async {
        let mut results: Vec<Option<R>> = items.iter().map(|_| None).collect();
        let mut waiting = items.into_iter().enumerate();
        let mut running = JoinSet::new();
        let mut failure: Option<E> = None;
        loop {
            while failure.is_none() && running.len() < jobs {
                let Some((index, item)) = waiting.next() else {
                    break;
                };
                if cedar_core::interrupt_requested() {
                    failure = Some(interrupted(&item));
                    break;
                }
                let work = Arc::clone(&work);
                running.spawn_blocking(move || (index, work(item)));
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            match joined {
                Ok((index, Ok(result))) => {
                    done(&result);
                    results[index] = Some(result);
                }
                Ok((_, Err(err))) => {
                    failure.get_or_insert(err);
                }
                Err(join) => std::panic::resume_unwind(join.into_panic()),
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(results.into_iter().flatten().collect()),
        }
    })
}
