// Running independent tasks on a few threads.
//
// Tasks are numbered 0..n-1 and each one writes only its own output, so the
// result is the same for any number of threads.  The calling thread does no
// task work: it waits and calls `poll` every few milliseconds with the number
// of tasks finished, which lets the R glue report progress and check for a
// user interrupt on the main thread.  `poll` returning false cancels the
// tasks not yet started; run_tasks then throws Cancelled.
#ifndef BULKCAUSAL_PARALLEL_HPP
#define BULKCAUSAL_PARALLEL_HPP

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bulkcausal {

struct Cancelled : std::runtime_error {
    Cancelled() : std::runtime_error("computation interrupted") {}
};

using PollFn = std::function<bool(std::size_t done, std::size_t total)>;

// task(i, worker) runs task i on worker `worker` (0 <= worker < nthreads), so
// a task may use per-worker scratch space.  `stop_flag` (optional) is the
// flag run_tasks raises when it cancels: a long task can read it and return
// early (its output is discarded, as run_tasks then throws Cancelled).
template <class Task>
void run_tasks(std::size_t ntasks, int nthreads, Task&& task, const PollFn& poll = PollFn(),
               std::atomic<bool>* stop_flag = nullptr) {
    if (ntasks == 0) return;
    const int nworkers = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(
        static_cast<std::size_t>(std::max(nthreads, 1)), ntasks)));
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> done{0};
    std::atomic<bool> own_stop{false};
    std::atomic<bool>& stop = stop_flag ? *stop_flag : own_stop;
    stop.store(false);
    std::exception_ptr error;
    std::size_t error_task = ntasks;
    std::mutex error_mutex;
    // The polling thread sleeps between polls but wakes as soon as the last
    // task finishes, so short runs do not wait out a poll interval.
    std::mutex wake_mutex;
    std::condition_variable wake;

    auto worker = [&](int w) {
        for (;;) {
            if (stop.load(std::memory_order_relaxed)) return;
            const std::size_t i = next.fetch_add(1);
            if (i >= ntasks) return;
            try {
                task(i, w);
            } catch (...) {
                // Keep the error of the lowest-numbered failing task so the
                // message does not depend on thread timing.
                std::lock_guard<std::mutex> lock(error_mutex);
                if (i < error_task) {
                    error_task = i;
                    error = std::current_exception();
                }
                stop.store(true);
            }
            if (done.fetch_add(1) + 1 == ntasks || stop.load()) {
                std::lock_guard<std::mutex> lock(wake_mutex);
                wake.notify_one();
            }
        }
    };

    if (!poll && nworkers == 1) {
        worker(0);
    } else {
        std::vector<std::thread> pool;
        pool.reserve(static_cast<std::size_t>(nworkers));
        for (int w = 0; w < nworkers; ++w) pool.emplace_back(worker, w);
        bool cancelled = false;
        if (poll) {
            for (;;) {
                const std::size_t d = done.load();
                if (d >= ntasks || stop.load()) break;
                if (!poll(d, ntasks)) {
                    cancelled = true;
                    stop.store(true);
                    break;
                }
                std::unique_lock<std::mutex> lock(wake_mutex);
                wake.wait_for(lock, std::chrono::milliseconds(20),
                              [&] { return done.load() >= ntasks || stop.load(); });
            }
        }
        for (auto& t : pool) t.join();
        if (poll && !cancelled && !error) poll(done.load(), ntasks);
        if (cancelled && !error) throw Cancelled();
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace bulkcausal

#endif
