#include "src/core/voice_capture.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace sotto::core {
namespace {

class PacedFeed : public CaptureFeed {
 public:
  explicit PacedFeed(std::unique_ptr<voice::AudioSource> source) : source_(std::move(source)) {}

  Next next(std::span<int16_t> frame) override {
    auto more = source_->read(frame);
    return more.is_ok() && more.value() ? Next::kFrame : Next::kEnd;
  }
  bool ready() const override { return true; }
  voice::AudioDeviceStats device_stats() const override { return source_->device_stats(); }

 private:
  std::unique_ptr<voice::AudioSource> source_;
};

class ThreadedFeed : public CaptureFeed {
 public:
  ThreadedFeed(std::unique_ptr<voice::AudioSource> source, int frame_samples,
               std::function<void()> wake)
      : source_(std::move(source)),
        frame_samples_(static_cast<size_t>(frame_samples)),
        wake_(std::move(wake)),
        reader_([this] { read_until_stopped(); }) {}

  ~ThreadedFeed() override {
    stop_ = true;
    source_->interrupt();  // a stalled device would otherwise hold the join for seconds
    reader_.join();
  }

  Next next(std::span<int16_t> frame) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (frames_.empty()) return ended_ ? Next::kEnd : Next::kNotYet;
    const std::vector<int16_t>& front = frames_.front();
    std::fill(frame.begin(), frame.end(), 0);
    std::copy_n(front.begin(), std::min(front.size(), frame.size()), frame.begin());
    frames_.pop_front();
    return Next::kFrame;
  }

  bool ready() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return ended_ || !frames_.empty();
  }

  voice::AudioDeviceStats device_stats() const override { return source_->device_stats(); }

 private:
  void read_until_stopped() {
    std::vector<int16_t> frame(frame_samples_);
    while (!stop_) {
      auto more = source_->read(frame);
      const bool ended = !more.is_ok() || !more.value();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (ended) {
          ended_ = true;
        } else if (frames_.size() < kMaxQueuedFrames) {
          frames_.push_back(frame);
        }
      }
      if (wake_) wake_();
      if (ended) return;
    }
  }

  std::unique_ptr<voice::AudioSource> source_;
  const size_t frame_samples_;
  std::function<void()> wake_;
  mutable std::mutex mutex_;
  std::deque<std::vector<int16_t>> frames_;  // GUARDED_BY(mutex_)
  bool ended_ = false;                       // GUARDED_BY(mutex_)
  std::atomic<bool> stop_{false};
  std::thread reader_;  // last: starts once everything it reads is built
};

}  // namespace

std::unique_ptr<CaptureFeed> CaptureFeed::paced(std::unique_ptr<voice::AudioSource> source) {
  return std::make_unique<PacedFeed>(std::move(source));
}

std::unique_ptr<CaptureFeed> CaptureFeed::threaded(std::unique_ptr<voice::AudioSource> source,
                                                   int frame_samples, std::function<void()> wake) {
  return std::make_unique<ThreadedFeed>(std::move(source), frame_samples, std::move(wake));
}

}  // namespace sotto::core
