//! Running numbered pieces of work a bounded number at a time: the postgresql dumps
//! (`<postgresql><jobs>`) and the stage action's peers (`<stage><jobs>`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Runs `work(0)`, `work(1)`, … `work(count - 1)`, at most `jobs` at once, taken in order: with
/// `jobs` 1, one after another on the calling thread. Before taking the next piece, a worker
/// asks `stop`; once it is true no further piece starts. The result of piece `i` is at index
/// `i`; `None` for a piece that never started.
pub fn run_bounded<T: Send>(
    count: usize,
    jobs: usize,
    stop: &(dyn Fn() -> bool + Sync),
    work: &(dyn Fn(usize) -> T + Sync),
) -> Vec<Option<T>> {
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..count).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let worker = || loop {
        if stop() {
            return;
        }
        let index = next.fetch_add(1, Ordering::SeqCst);
        if index >= count {
            return;
        }
        let result = work(index);
        results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(result);
    };
    let threads = jobs.clamp(1, count.max(1));
    if threads == 1 {
        worker();
    } else {
        std::thread::scope(|scope| {
            for _ in 1..threads {
                scope.spawn(worker);
            }
            worker();
        });
    }
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    #[test]
    fn results_are_in_order_and_at_most_jobs_run_at_once() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let results = run_bounded(9, 3, &|| false, &|i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(30));
            running.fetch_sub(1, Ordering::SeqCst);
            i * 10
        });
        let want: Vec<Option<usize>> = (0..9).map(|i| Some(i * 10)).collect();
        assert_eq!(results, want);
        let most = most.load(Ordering::SeqCst);
        assert!(most > 1 && most <= 3, "{most}");
    }

    #[test]
    fn one_job_runs_in_order_on_the_calling_thread() {
        let caller = std::thread::current().id();
        let order = Mutex::new(Vec::new());
        run_bounded(4, 1, &|| false, &|i| {
            assert_eq!(std::thread::current().id(), caller);
            order.lock().unwrap().push(i);
        });
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
    }

    #[test]
    fn nothing_starts_after_stop() {
        let stop = AtomicBool::new(false);
        let results = run_bounded(5, 1, &|| stop.load(Ordering::SeqCst), &|i| {
            if i == 1 {
                stop.store(true, Ordering::SeqCst);
            }
            i
        });
        assert_eq!(results, [Some(0), Some(1), None, None, None]);
        assert!(run_bounded(0, 4, &|| false, &|i| i).is_empty());
    }
}
