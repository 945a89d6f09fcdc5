// Persistent worker threads for data-parallel training. Workers sleep on a condition variable
// between jobs; inside a job the participants meet at a spin-then-yield barrier, which costs well
// under a microsecond when all threads are running (thousands of mini-batches per epoch).
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nndl {

class ThreadPool {
 public:
  explicit ThreadPool(int participants);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_; }
  // Stops and joins the workers (the destructor does it too); run() must not be called after.
  void shutdown();
  // Runs fn(tid) for every tid in [0, size()), tid 0 on the calling thread; returns when all are
  // done. fn must not throw and must call barrier() the same number of times on every thread.
  void run(const std::function<void(int)>& fn);
  // Waits until all participants of the current run() reach it.
  void barrier(int tid);

 private:
  void worker_main(int tid);

  int n_;
  std::vector<std::thread> threads_;
  std::mutex m_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  const std::function<void(int)>* fn_ = nullptr;
  alignas(64) std::atomic<int> remaining_{0};
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<int> sense_{0};
  std::vector<int> localSense_;
};

}  // namespace nndl
