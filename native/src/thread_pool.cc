// Sense-reversing barrier: the last thread to arrive flips the shared sense; the others spin on
// it with a pause instruction for a while, then fall back to yielding the core (the machine may
// have fewer free cores than threads).
#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NNDL_PAUSE() _mm_pause()
#else
#define NNDL_PAUSE() ((void)0)
#endif

namespace nndl {

namespace {
constexpr int kSpins = 1000;  // ~10–40 µs of pause before yielding the core

template <typename Pred>
void spin_wait(Pred done) {
  for (int i = 0; i < kSpins; ++i) {
    if (done()) return;
    NNDL_PAUSE();
  }
  while (!done()) std::this_thread::yield();
}
}  // namespace

ThreadPool::ThreadPool(int participants) : n_(participants < 1 ? 1 : participants), localSense_(n_ * 16, 0) {
  threads_.reserve(n_ - 1);
  for (int t = 1; t < n_; ++t) threads_.emplace_back(&ThreadPool::worker_main, this, t);
}

ThreadPool::~ThreadPool() { shutdown(); }

void ThreadPool::shutdown() {
  {
    std::lock_guard<std::mutex> lk(m_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& th : threads_) th.join();
  threads_.clear();
}

void ThreadPool::worker_main(int tid) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* fn;
    {
      std::unique_lock<std::mutex> lk(m_);
      cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      fn = fn_;
    }
    (*fn)(tid);
    remaining_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run(const std::function<void(int)>& fn) {
  if (n_ == 1) {
    fn(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(m_);
    fn_ = &fn;
    remaining_.store(n_ - 1, std::memory_order_relaxed);
    ++generation_;
  }
  cv_.notify_all();
  fn(0);
  spin_wait([&] { return remaining_.load(std::memory_order_acquire) == 0; });
}

void ThreadPool::barrier(int tid) {
  if (n_ == 1) return;
  int& local = localSense_[tid * 16];  // padded: one cache line per thread
  const int s = local ^ 1;
  local = s;
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
    arrived_.store(0, std::memory_order_relaxed);
    sense_.store(s, std::memory_order_release);
  } else {
    spin_wait([&] { return sense_.load(std::memory_order_acquire) == s; });
  }
}

}  // namespace nndl
