// Push-to-talk voice (issue 6): real in-process nodes on 127.0.0.1 (tests/support/test_node.h),
// real speech (every /usr/share/sounds/alsa/*.wav joined in name order, Noise.wav included, cut
// to 10 s), the real code path: Node::talk paces the WAV file frame by frame, Opus-encodes, seals
// (FrameCipher), sends one VoiceFrame per listener over ZeroMQ/CURVE; each listener opens,
// jitter-buffers and decodes.
// What the nodes did is read from NodeOptions::voice_trace (kEncodeStart at the talker once each
// frame is encoded, with when its encode began; kDecoded at each listener once it is decoded),
// collected under a mutex.
//
//   voice_frame_cpu_us       CPU of the whole process per 20 ms frame, talker + 1 listener, over
//                            the whole 10 s transmission: process CPU time
//                            (CLOCK_PROCESS_CPUTIME_ID) from talk() until the listener has ended
//                            the reception (VoiceStart, every frame through encode -> seal -> send
//                            -> receive -> open -> decode, VoiceEnd, the clip signed and archived
//                            by both), divided by its frames. Nothing subtracted: the two nodes'
//                            idle work goes on during a transmission too. No node traces: a trace
//                            of each frame (a VoiceTrace built, a record kept under a lock) would
//                            be the bench's work counted as the node's.
//                            kCpuPasses (5) transmissions, each by a lab set up afresh, taken in
//                            turn with as many passes of the paced twin (node, twin, node, twin,
//                            ...): the median of the five, and the twin's the median of its five.
//                            Each pass and its ratio go to stderr.
//   voice_frame_cpu_us_steady  the same from the moment frame 25 is due to the moment frame F-25
//                            is due (25 and F-25 frame periods after talk(), sampled by a thread
//                            asleep in between): the steady part, without the start and the end.
//                            A per-thread breakdown of it goes to stderr.
//   voice_idle_cpu_us        the same two nodes' CPU per 20 ms with nobody talking (heartbeats,
//                            timers), over kIdleMs: how much of the above is not voice.
//   voice_frame_cpu_us_bare  voice::OpusEncoder + OpusDecoder alone (24 kbit/s hard CBR, VOIP,
//                            the node's settings) over the same frames back to back, this
//                            thread's CPU time, median of 5 passes.
//   voice_frame_cpu_us_bare_paced  the same frames, paced at one frame per 20 ms as a real
//                            transmission must be (caches cold from the other threads, a wake-up
//                            per frame), with a codec of its own each pass; the twin
//                            voice_frame_cpu_us is a floor against. The median of five passes,
//                            each after one of voice_frame_cpu_us's transmissions (no node alive).
//   voice_frame_cpu_us_bare_pipeline  the same frames two-ended, as a transmission must carry
//                            them: one thread paced at one frame per 20 ms encodes and sends
//                            each as a UDP datagram on 127.0.0.1, a second thread wakes on it,
//                            reads and decodes it; both threads' CPU per frame. The bare
//                            libraries and the kernel alone: two wake-ups a frame and the
//                            loopback path, which the one-thread twins do not pay.
//   voice_delay_p50_ms/_p99  1 talker, 8 listeners, 20 ms frames: every listener's kDecoded
//                            delay_ms (wall clock when decoded and ready for playout minus the
//                            nominal capture time of the frame's last sample, jitter buffer
//                            included), all frames of a 10 s transmission across all listeners.
//   voice_delay_p99_ms_10ms  the same with voice_frame_ms = 10 on every node.
//   voice_pipeline_p99_ms    from the same 8-listener 20 ms run: kDecoded wall_us at a listener
//                            minus the talker's kEncodeStart wall_us of the same (transmission,
//                            seq): encoder input -> decoded PCM, no waiting for capture. (The
//                            jitter buffer releases a frame as soon as it is the next one due, so
//                            on loopback it adds no wait.)
//   voice_pipeline_p99_ms_bare  its twin: the same frames and fan-out with the bare libraries and
//                            the kernel (a talker thread paced at 20 ms encodes and sends each
//                            frame to 8 listener threads in one sendmmsg; each wakes in poll,
//                            reads and decodes it): encoder input -> decoded PCM, p99 over every
//                            frame at every listener.
//   voice_max_listeners      an EXTRAPOLATION: the CPU the talker node's own threads (its loop
//                            thread and its ZeroMQ I/O threads, per-thread CPU clocks) spend per
//                            frame, measured with 1, 2, 4 and 8 real listener nodes (1, 2, 4
//                            twice: before and after the 8), minus its idle CPU. The encoder's
//                            own CPU in each run (the trace's encode_cpu_ns) is taken out before
//                            the fit: it does not grow with N, and it moves by ~100 us a frame
//                            from run to run on this VM, more than 8 listeners add. A line
//                            cost - encode = c + b * N through all seven, by Theil-Sen (medians
//                            of slopes, not least squares: one run in a slow stretch does not
//                            tilt it); a = c + the runs' median encode; the figure is
//                            floor((frame period * 0.5 - a) / b), the listeners one talker serves
//                            with half a core. On loopback the talker's send() also runs the
//                            kernel's receive path for the listener (softirq in the sender's
//                            context), so b is pessimistic for a real network.
//
// Time on this machine (2 cores) is shared by all node threads, the ZeroMQ I/O threads, and
// whatever else runs. CPU times are not inflated by waiting for a core; the delays are.
#include <poll.h>
#include <sys/types.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sotto/core/node.h"
#include "sotto/net/udp_socket.h"
#include "sotto/voice/opus_codec.h"
#include "tests/bench/bench.h"
#include "tests/support/speech.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_node.h"
#include "tests/support/wait.h"

namespace sotto::bench {
namespace {

using SteadyTime = std::chrono::steady_clock;

constexpr int kListeners = 8;
constexpr int kSpeechMs = 10'000;      // the main transmissions
constexpr int kShortSpeechMs = 3'000;  // the talker-cost runs with 1, 2 and 4 listeners
constexpr uint32_t kSkipFrames = 25;   // steady state: not the first or last 25 frames
constexpr int kIdleMs = 3000;          // how long the idle CPU is measured
constexpr int kSettleMs = 1000;        // after the set-up, before the idle CPU is measured
constexpr int kBarePasses = 5;
// voice_frame_cpu_us and its paced twin, taken in turn. The twin alone, the same code on the same
// frames, moves by up to ~100 us a frame between the passes of one run on this VM (746-846), half
// of sotto's whole part; with three, one slow or fast pass still set a run's median.
constexpr int kCpuPasses = 5;
constexpr double kUtilisationBudget = 0.5;  // of one core, for the talker's voice work

// --- CPU clocks --------------------------------------------------------------------------------

int64_t ns_of(const timespec& ts) {
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ns_of(ts);
}

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyTime::now().time_since_epoch())
      .count();
}

int64_t this_thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ns_of(ts);
}

// CPU time of another thread of this process, by its kernel thread id: Linux's per-thread CPU
// clock id (what glibc's pthread_getcpuclockid computes: ~tid << 3 | per-thread | sched).
int64_t thread_cpu_ns(pid_t tid) {
  const auto id = static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6u);
  timespec ts{};
  if (clock_gettime(id, &ts) != 0) return 0;  // the thread has ended
  return ns_of(ts);
}

std::set<pid_t> task_ids() {
  std::set<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    out.insert(static_cast<pid_t>(std::stol(entry.path().filename().string())));
  }
  return out;
}

std::string thread_name(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

// Page faults a thread has taken, minor and major (fields 10 and 12 of its stat; the name in
// field 2 may hold spaces, so counted from its closing parenthesis).
uint64_t thread_faults(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  uint64_t faults = 0;
  for (int i = 3; i <= 12 && fields >> field; ++i) {
    if (i == 10 || i == 12) faults += std::stoull(field);
  }
  return faults;
}

// --- statistics --------------------------------------------------------------------------------

// Nearest-rank percentile, p in [0, 1].
double percentile(std::vector<double> values, double p) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

double median(std::vector<double> values) {
  return percentile(std::move(values), 0.5);
}

// --- speech ------------------------------------------------------------------------------------

// Every alsa-utils sample sound, joined in name order, looped or cut to `ms` of audio.
std::vector<int16_t> speech(int ms) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(test::kAlsaSounds)) {
    if (entry.path().extension() == ".wav") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  const std::vector<int16_t> joined = test::alsa_speech(names);
  const size_t want = static_cast<size_t>(voice::kSampleRateHz / 1000) * static_cast<size_t>(ms);
  std::vector<int16_t> out;
  out.reserve(want);
  while (!joined.empty() && out.size() < want) {
    const size_t n = std::min(joined.size(), want - out.size());
    out.insert(out.end(), joined.begin(), joined.begin() + static_cast<ptrdiff_t>(n));
  }
  return out;
}

// --- trace collection --------------------------------------------------------------------------

// What the tracked threads had spent when a mark was taken.
struct Sample {
  int64_t steady_ns = 0;
  int64_t process_ns = 0;
  std::vector<int64_t> thread_ns;  // by VoiceLab::threads()
};

// Collects every node's VoiceTrace. The hook runs on each node's loop thread: one lock and one
// push_back per frame. At the talker's kEncodeStart of two chosen frames it also takes a Sample
// (on the talker's thread, once that frame is encoded).
class TraceCollector {
 public:
  struct Encoded {
    std::string transmission;
    uint32_t seq;
    int64_t wall_us;
    int64_t encode_cpu_ns;
  };
  struct Decoded {
    int listener;
    std::string transmission;
    uint32_t seq;
    int64_t wall_us;
    double delay_ms;
    int64_t arrived_us;
    int target_depth;
  };
  // A listener's slot concealed, or a frame dropped as late (kConcealed, kLate).
  struct Missed {
    int listener;
    core::VoiceTrace::Kind kind;
    std::string transmission;
    uint32_t seq;
  };
  // A round of a node's loop while it was on air (node -1 is the talker).
  struct Round {
    int node;
    core::VoiceTrace trace;
  };

  // Sized for a lab's runs (the fan-out lab: ~9,000 rounds): a vector that grows moves all
  // it holds under the lock, while the talker's hook, between encoding a frame and sending it,
  // waits for the lock.
  TraceCollector() {
    encoded_.reserve(4096);
    decoded_.reserve(16384);
    rounds_.reserve(32768);
  }

  std::function<void(const core::VoiceTrace&)> hook(int listener) {
    return [this, listener](const core::VoiceTrace& trace) { record(listener, trace); };
  }

  // From the next transmission on: Samples at kEncodeStart of frames `first` and `last`.
  void mark(uint32_t first, uint32_t last, std::function<Sample()> sampler) {
    std::lock_guard<std::mutex> lock(mutex_);
    mark_first_ = first;
    mark_last_ = last;
    sampler_ = std::move(sampler);
    first_.reset();
    last_.reset();
  }
  std::pair<std::optional<Sample>, std::optional<Sample>> marks() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {first_, last_};
  }

  std::vector<Encoded> encoded(const std::string& transmission) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Encoded> out;
    for (const auto& e : encoded_) {
      if (e.transmission == transmission) out.push_back(e);
    }
    return out;
  }
  std::vector<Decoded> decoded(const std::string& transmission) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Decoded> out;
    for (const auto& d : decoded_) {
      if (d.transmission == transmission) out.push_back(d);
    }
    return out;
  }
  std::vector<Missed> missed(const std::string& transmission) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Missed> out;
    for (const auto& m : missed_) {
      if (m.transmission == transmission) out.push_back(m);
    }
    return out;
  }
  // The loop rounds that began between `from_us` and `to_us` (wall clock).
  std::vector<Round> rounds(int64_t from_us, int64_t to_us) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Round> out;
    for (const auto& r : rounds_) {
      if (r.trace.wall_us >= from_us && r.trace.wall_us <= to_us) out.push_back(r);
    }
    return out;
  }

 private:
  void record(int listener, const core::VoiceTrace& trace) {
    using Kind = core::VoiceTrace::Kind;
    std::lock_guard<std::mutex> lock(mutex_);
    switch (trace.kind) {
      case Kind::kEncodeStart:
        if (sampler_ && trace.seq == mark_first_) first_ = sampler_();
        if (sampler_ && trace.seq == mark_last_) last_ = sampler_();
        encoded_.push_back({trace.transmission, trace.seq, trace.wall_us, trace.encode_cpu_ns});
        break;
      case Kind::kDecoded:
        decoded_.push_back({listener, trace.transmission, trace.seq, trace.wall_us, trace.delay_ms,
                            trace.arrived_us, trace.target_depth});
        break;
      case Kind::kConcealed:
      case Kind::kLate:
        missed_.push_back({listener, trace.kind, trace.transmission, trace.seq});
        break;
      case Kind::kLoopRound:
        rounds_.push_back({listener, trace});
        break;
    }
  }

  std::mutex mutex_;
  std::vector<Encoded> encoded_;
  std::vector<Decoded> decoded_;
  std::vector<Missed> missed_;
  std::vector<Round> rounds_;
  uint32_t mark_first_ = 0;
  uint32_t mark_last_ = 0;
  std::function<Sample()> sampler_;
  std::optional<Sample> first_;
  std::optional<Sample> last_;
};

// --- the nodes ---------------------------------------------------------------------------------

// One talker (node 0, the channels' admin) and `listeners` listener nodes, every pair connected,
// every node with the same voice frame; channels "v<k>" whose members are the talker and the
// first k listeners.
class VoiceLab {
 public:
  // `trace_costs`: every node also traces its loop's rounds on air, and the talker its encoder's
  // CPU (the fan-out runs explain their tails and fit the talker's cost with them); the CPU run
  // leaves them off, as a node outside a benchmark does. Without `traced` no node traces at all:
  // a trace of every frame (a VoiceTrace built, a record kept under a lock) is the bench's work,
  // not the node's, and the CPU run counts the node's only.
  VoiceLab(int listeners, int frame_ms, bool trace_costs, bool traced = true)
      : listeners_(listeners), frame_ms_(frame_ms), trace_costs_(trace_costs), traced_(traced) {}

  bool set_up(const std::vector<int>& channel_sizes) {
    for (int i = 0; i <= listeners_; ++i) {
      core::NodeOptions options = test::loopback_options();
      for (const auto& earlier : nodes_) {
        options.peers.push_back(core::PeerSpec::parse(earlier->endpoint()).value());
      }
      options.voice_frame_ms = frame_ms_;
      // The talker's kEncodeStart has no listener (-1).
      if (traced_) options.voice_trace = traces_.hook(i - 1);
      options.voice_trace_costs = trace_costs_;
      const std::set<pid_t> before = task_ids();
      nodes_.push_back(std::make_unique<test::TestNode>(
          i == 0 ? "talker" : "listener" + std::to_string(i - 1), std::move(options)));
      // The node's threads: its loop and its ZeroMQ context's I/O and reaper threads.
      std::vector<pid_t> mine;
      for (pid_t tid : task_ids()) {
        if (!before.contains(tid)) mine.push_back(tid);
      }
      node_threads_.push_back(mine);
    }
    for (size_t n = 0; n < node_threads_.size(); ++n) {
      for (pid_t tid : node_threads_[n]) {
        threads_.push_back(tid);
        thread_node_.push_back(static_cast<int>(n));
      }
    }
    if (!test::wait_until([&] { return all_online(); }, std::chrono::seconds(20))) {
      unavailable("voice: the " + std::to_string(listeners_ + 1) +
                  " nodes did not all come online");
      return false;
    }
    core::Node& talker = nodes_[0]->node();
    for (int i = 1; i <= listeners_; ++i) {
      auto added = talker.add_contact(nodes_[static_cast<size_t>(i)]->fingerprint());
      if (!added.is_ok()) return fail("add_contact", added.status());
    }
    for (int size : channel_sizes) {
      const std::string name = "v" + std::to_string(size);
      // Not strict: membership without safety-number checks, which are not what is measured.
      auto created = talker.create_channel(name, false);
      if (!created.is_ok()) return fail("create_channel", created.status());
      for (int i = 1; i <= size; ++i) {
        auto invited =
            talker.invite_to_channel(name, nodes_[static_cast<size_t>(i)]->fingerprint());
        if (!invited.is_ok()) return fail("invite_to_channel", invited.status());
      }
      for (int i = 1; i <= size; ++i) {
        if (!accept_invitation(*nodes_[static_cast<size_t>(i)], nodes_[0]->fingerprint(), name)) {
          return false;
        }
      }
    }
    for (int i = 0; i <= listeners_; ++i) {
      queues_.push_back(nodes_[static_cast<size_t>(i)]->node().subscribe());
    }
    for (int size : channel_sizes) {
      const std::string name = "v" + std::to_string(size);
      if (!test::wait_until([&] { return sees_roster(name, size); }, std::chrono::seconds(30))) {
        unavailable("voice: not every member of #" + name + " sees its " +
                    std::to_string(size + 1) + " members");
        return false;
      }
      // A text from the talker hands its sender key to every member: VoiceStart travels under it.
      const std::string fence = "fence " + name;
      auto sent = talker.send_text("#" + name, fence);
      if (!sent.is_ok()) return fail("send_text", sent.status());
      if (!test::wait_until([&] { return all_have(name, size, fence); },
                            std::chrono::seconds(15))) {
        unavailable("voice: the members of #" + name + " did not all get the fence");
        return false;
      }
    }
    return true;
  }

  // Transmits `clip` on #v<size> and waits until every member has ended the reception. Returns
  // the transmission id, or empty on failure.
  std::string talk(int size, const std::string& clip) {
    drain();
    const std::string name = "v" + std::to_string(size);
    auto sent = nodes_[0]->node().talk("#" + name, clip);
    if (!sent.is_ok()) {
      fail("talk", sent.status());
      return "";
    }
    const std::string id = sent.value().id;
    std::vector<bool> ended(static_cast<size_t>(size), false);
    const bool all_ended = test::wait_until(
        [&] {
          for (int i = 1; i <= size; ++i) {
            while (auto event = queues_[static_cast<size_t>(i)]->pop()) {
              const auto* voice = std::get_if<core::VoiceEvent>(&event->body);
              if (voice == nullptr || voice->voice.id != id ||
                  voice->phase != core::VoicePhase::kEnded)
                continue;
              ended[static_cast<size_t>(i - 1)] = true;
              const core::VoiceStats& s = voice->voice;
              if (s.frames_lost != 0 || s.frames_concealed != 0 || s.frames_dropped != 0) {
                std::fprintf(stderr,
                             "bench: voice: #%s listener%d: %llu of %llu frames received, "
                             "%llu lost, %llu concealed, %llu dropped\n",
                             name.c_str(), i - 1,
                             static_cast<unsigned long long>(s.frames_received),
                             static_cast<unsigned long long>(s.frames_sent),
                             static_cast<unsigned long long>(s.frames_lost),
                             static_cast<unsigned long long>(s.frames_concealed),
                             static_cast<unsigned long long>(s.frames_dropped));
              }
            }
          }
          return std::all_of(ended.begin(), ended.end(), [](bool e) { return e; });
        },
        std::chrono::seconds(10));
    if (!all_ended) {
      unavailable("voice: not every listener of #" + name + " ended the reception");
      return "";
    }
    return id;
  }

  // What the tracked threads have spent so far.
  Sample sample() const {
    Sample s;
    s.steady_ns = steady_now_ns();
    s.process_ns = process_cpu_ns();
    s.thread_ns.reserve(threads_.size());
    for (pid_t tid : threads_) s.thread_ns.push_back(thread_cpu_ns(tid));
    return s;
  }
  // CPU ns of node `n`'s threads between two samples.
  int64_t node_cpu_ns(const Sample& from, const Sample& to, int n) const {
    int64_t sum = 0;
    for (size_t t = 0; t < threads_.size(); ++t) {
      if (thread_node_[t] == n) sum += to.thread_ns[t] - from.thread_ns[t];
    }
    return sum;
  }
  // CPU ns of node `n`'s threads named like `prefix` (e.g. "ZMQbg"), or not (`invert`).
  int64_t node_cpu_ns(const Sample& from, const Sample& to, int n, const std::string& prefix,
                      bool invert) const {
    int64_t sum = 0;
    for (size_t t = 0; t < threads_.size(); ++t) {
      if (thread_node_[t] != n) continue;
      const bool named = thread_name(threads_[t]).rfind(prefix, 0) == 0;
      if (named != invert) sum += to.thread_ns[t] - from.thread_ns[t];
    }
    return sum;
  }
  // Page faults node `n`'s threads have taken so far.
  uint64_t node_faults(int n) const {
    uint64_t sum = 0;
    for (pid_t tid : node_threads_[static_cast<size_t>(n)]) sum += thread_faults(tid);
    return sum;
  }
  // A counter summed over every node of the lab.
  uint64_t counter_sum(const std::string& name) const {
    uint64_t sum = 0;
    for (const auto& node : nodes_) sum += node->counter(name);
    return sum;
  }

  std::string describe_threads(int n) const {
    std::string out;
    for (pid_t tid : node_threads_[static_cast<size_t>(n)]) {
      out += (out.empty() ? "" : ", ") + thread_name(tid);
    }
    return out;
  }

  TraceCollector& traces() { return traces_; }
  int frame_ms() const { return frame_ms_; }

 private:
  bool all_online() {
    for (const auto& a : nodes_) {
      for (const auto& b : nodes_) {
        if (a != b && !a->sees_online(*b)) return false;
      }
    }
    return true;
  }

  bool sees_roster(const std::string& name, int size) {
    for (int i = 0; i <= size; ++i) {
      auto info = nodes_[static_cast<size_t>(i)]->node().channel(name);
      if (!info.is_ok() || info.value().members.size() != static_cast<size_t>(size + 1)) {
        return false;
      }
    }
    return true;
  }

  bool all_have(const std::string& name, int size, const std::string& body) {
    for (int i = 1; i <= size; ++i) {
      auto history = nodes_[static_cast<size_t>(i)]->node().history("#" + name, 50);
      if (!history.is_ok() ||
          std::none_of(history.value().begin(), history.value().end(),
                       [&](const core::MessageInfo& m) { return m.body == body; })) {
        return false;
      }
    }
    return true;
  }

  void drain() {
    for (const auto& queue : queues_) {
      while (queue->pop()) {
      }
    }
  }

  static bool fail(const char* what, const Status& status) {
    unavailable(std::string("voice: ") + what + ": " + status.message());
    return false;
  }

  int listeners_;
  int frame_ms_;
  bool trace_costs_;
  bool traced_;
  TraceCollector traces_;  // before the nodes: their hooks point into it
  std::vector<std::unique_ptr<test::TestNode>> nodes_;  // [0] is the talker
  std::vector<std::shared_ptr<core::EventQueue>> queues_;
  std::vector<std::vector<pid_t>> node_threads_;  // by node
  std::vector<pid_t> threads_;                    // every node's, flattened
  std::vector<int> thread_node_;                  // the node of threads_[i]
};

bool have_speech() {
  if (test::have_alsa_speech()) return true;
  unavailable("voice: alsa-utils sample sounds missing (make deps)");
  return false;
}

// A clip of `ms` of speech written to `dir`; its frame count at `frame_ms`.
std::pair<std::string, uint32_t> write_clip(const test::TempDir& dir, int ms, int frame_ms) {
  const std::string path = dir / ("speech-" + std::to_string(ms) + ".wav");
  const auto samples = speech(ms);
  test::write_speech(path, samples);
  const auto per_frame = static_cast<size_t>(voice::frame_samples_for(frame_ms));
  return {path, static_cast<uint32_t>((samples.size() + per_frame - 1) / per_frame)};
}

// Where one transmission's delay went, to stderr: the talker's pacing, the network (encode start
// -> arrival in the jitter buffer), the buffer (arrival -> decoded) and its target depth, slots
// concealed and frames dropped late, the worst frames, and what ran on the loops meanwhile.
void explain(TraceCollector& traces, const std::string& id, uint32_t frames, const char* label) {
  const auto encoded = traces.encoded(id);
  const auto decoded = traces.decoded(id);
  if (encoded.empty() || decoded.empty()) return;
  std::vector<int64_t> encode_us(frames, -1);
  for (const auto& e : encoded) {
    if (e.seq < frames) encode_us[e.seq] = e.wall_us;
  }
  std::vector<double> network, buffer, early_pacing, steady_pacing;
  int depth_count[6] = {};
  struct Worst {
    double delay, pacing, network, buffer;
    int listener, depth;
    uint32_t seq;
  };
  std::vector<Worst> worst;
  int64_t last_us = 0;
  for (const auto& d : decoded) {
    last_us = std::max(last_us, d.wall_us);
    if (d.seq >= frames || encode_us[d.seq] < 0) continue;
    const double net_ms = static_cast<double>(d.arrived_us - encode_us[d.seq]) / 1000.0;
    const double buf_ms = static_cast<double>(d.wall_us - d.arrived_us) / 1000.0;
    const double pacing_ms =
        d.delay_ms - static_cast<double>(d.wall_us - encode_us[d.seq]) / 1000.0;
    network.push_back(net_ms);
    buffer.push_back(buf_ms);
    (d.seq < kSkipFrames ? early_pacing : steady_pacing).push_back(pacing_ms);
    ++depth_count[std::clamp(d.target_depth, 0, 5)];
    worst.push_back({d.delay_ms, pacing_ms, net_ms, buf_ms, d.listener, d.target_depth, d.seq});
  }
  std::sort(worst.begin(), worst.end(),
            [](const Worst& a, const Worst& b) { return a.delay > b.delay; });
  std::string worst_text;
  for (size_t i = 0; i < std::min<size_t>(worst.size(), 6); ++i) {
    char text[160];
    std::snprintf(text, sizeof text, " [l%d #%u %.1f = pacing %.1f + net %.1f + buffer %.1f, d%d]",
                  worst[i].listener, worst[i].seq, worst[i].delay, worst[i].pacing,
                  worst[i].network, worst[i].buffer, worst[i].depth);
    worst_text += text;
  }
  const auto missed = traces.missed(id);
  const auto concealed = std::count_if(missed.begin(), missed.end(), [](const auto& m) {
    return m.kind == core::VoiceTrace::Kind::kConcealed;
  });
  std::string missed_text;
  for (size_t i = 0; i < std::min<size_t>(missed.size(), 12); ++i) {
    missed_text += (missed[i].kind == core::VoiceTrace::Kind::kLate ? " late:l" : " concealed:l") +
                   std::to_string(missed[i].listener) + "#" + std::to_string(missed[i].seq);
  }
  std::fprintf(stderr,
               "bench: voice: %s: explain: pacing p50 %.2f max %.2f ms (frames 0..%u) p50 %.2f "
               "p99 %.2f (after); network p50 %.2f p99 %.2f max %.2f; buffer p50 %.2f p99 %.2f "
               "max %.2f; target depth at decode 1:%d 2:%d 3:%d 4:%d; %zu concealed, %zu late:%s\n"
               "bench: voice: %s: explain: worst:%s\n",
               label, percentile(early_pacing, 0.5), percentile(early_pacing, 1.0), kSkipFrames - 1,
               percentile(steady_pacing, 0.5), percentile(steady_pacing, 0.99),
               percentile(network, 0.5), percentile(network, 0.99), percentile(network, 1.0),
               percentile(buffer, 0.5), percentile(buffer, 0.99), percentile(buffer, 1.0),
               depth_count[1], depth_count[2], depth_count[3], depth_count[4],
               static_cast<size_t>(concealed), missed.size() - static_cast<size_t>(concealed),
               missed_text.c_str(), label, worst_text.c_str());

  // The loops while the transmission was live: rounds per frame, and the longest rounds' work
  // (the runs that trace them: not the CPU run).
  const int64_t first_us = encoded.front().wall_us;
  const auto rounds = traces.rounds(first_us, last_us);
  if (rounds.empty()) return;
  std::vector<double> talker_busy, listener_busy;
  size_t talker_rounds = 0;
  std::vector<TraceCollector::Round> longest = rounds;
  auto busy_us = [](const core::VoiceTrace& t) { return t.timers_us + t.handlers_us + t.after_us; };
  for (const auto& r : rounds) {
    const auto busy = static_cast<double>(busy_us(r.trace)) / 1000.0;
    if (r.node < 0) {
      ++talker_rounds;
      talker_busy.push_back(busy);
    } else {
      listener_busy.push_back(busy);
    }
  }
  std::sort(longest.begin(), longest.end(),
            [&](const auto& a, const auto& b) { return busy_us(a.trace) > busy_us(b.trace); });
  std::string longest_text;
  for (size_t i = 0; i < std::min<size_t>(longest.size(), 6); ++i) {
    const auto& t = longest[i].trace;
    char text[200];
    std::snprintf(
        text, sizeof text, " [%s%d at +%.0f ms: timers %.1f (%s %.1f) handlers %.1f after %.1f]",
        longest[i].node < 0 ? "talker" : "l", std::max(longest[i].node, 0),
        static_cast<double>(t.wall_us - first_us) / 1000.0,
        static_cast<double>(t.timers_us) / 1000.0, t.slowest_timer.c_str(),
        static_cast<double>(t.slowest_timer_us) / 1000.0,
        static_cast<double>(t.handlers_us) / 1000.0, static_cast<double>(t.after_us) / 1000.0);
    longest_text += text;
  }
  std::fprintf(stderr,
               "bench: voice: %s: explain: loop rounds per frame: talker %.1f, each listener "
               "%.1f; busy per round p99/max ms: talker %.2f/%.2f, listeners %.2f/%.2f; "
               "longest:%s\n",
               label, static_cast<double>(talker_rounds) / frames,
               static_cast<double>(rounds.size() - talker_rounds) / frames /
                   std::max<double>(1, static_cast<double>(decoded.size()) / frames),
               percentile(talker_busy, 0.99), percentile(talker_busy, 1.0),
               percentile(listener_busy, 0.99), percentile(listener_busy, 1.0),
               longest_text.c_str());
}

// Delay and pipeline percentiles of one transmission, over all its listeners.
struct Delays {
  double delay_p50_ms = NAN;
  double delay_p99_ms = NAN;
  double pipeline_p50_ms = NAN;
  double pipeline_p99_ms = NAN;
};

Delays delays_of(TraceCollector& traces, const std::string& id, int listeners, uint32_t frames,
                 const char* label) {
  Delays out;
  const auto encoded = traces.encoded(id);
  const auto decoded = traces.decoded(id);
  std::vector<int64_t> encode_us(frames, -1);
  for (const auto& e : encoded) {
    if (e.seq < frames) encode_us[e.seq] = e.wall_us;
  }
  std::vector<double> delays, pipeline, pacing;
  // Where the pipeline's tail lies: a transmission's first second (its start's work on every
  // node) or after.
  const uint32_t first_second = static_cast<uint32_t>(int64_t{frames} * 1000 / kSpeechMs);
  size_t over_2ms_first = 0, over_2ms_after = 0;
  for (const auto& d : decoded) {
    delays.push_back(d.delay_ms);
    if (d.seq < frames && encode_us[d.seq] >= 0) {
      pipeline.push_back(static_cast<double>(d.wall_us - encode_us[d.seq]) / 1000.0);
      if (pipeline.back() > 2.0) ++(d.seq < first_second ? over_2ms_first : over_2ms_after);
      // The nominal capture time of the frame's last sample is wall_us - delay: how late the
      // talker's pacing started encoding it.
      const double captured_us = static_cast<double>(d.wall_us) - d.delay_ms * 1000.0;
      pacing.push_back((static_cast<double>(encode_us[d.seq]) - captured_us) / 1000.0);
    }
  }
  explain(traces, id, frames, label);
  out.delay_p50_ms = percentile(delays, 0.5);
  out.delay_p99_ms = percentile(delays, 0.99);
  out.pipeline_p50_ms = percentile(pipeline, 0.5);
  out.pipeline_p99_ms = percentile(pipeline, 0.99);
  if (listeners > 1) {
    // By listener: a frame goes to the listeners one after another, and they share the cores.
    std::string by_listener;
    for (int l = 0; l < listeners; ++l) {
      std::vector<double> mine;
      for (const auto& d : decoded) {
        if (d.listener == l && d.seq < frames && encode_us[d.seq] >= 0) {
          mine.push_back(static_cast<double>(d.wall_us - encode_us[d.seq]) / 1000.0);
        }
      }
      char text[64];
      std::snprintf(text, sizeof text, " %d: %.2f/%.2f", l, percentile(mine, 0.5),
                    percentile(mine, 0.99));
      by_listener += text;
    }
    std::fprintf(stderr, "bench: voice: %s: encode start->decoded p50/p99 ms by listener:%s\n",
                 label, by_listener.c_str());
  }
  std::fprintf(stderr,
               "bench: voice: %s: encode start->decoded over 2 ms: %zu in the first second "
               "(frames 0..%u), %zu after\n",
               label, over_2ms_first, first_second - 1, over_2ms_after);
  std::fprintf(stderr,
               "bench: voice: %s: %zu frames encoded, %zu decoded (of %u x %d listeners); "
               "delay p50 %.2f p99 %.2f max %.2f ms = capture->encode start p50 %.2f p99 %.2f "
               "ms + encode start->decoded p50 %.2f p99 %.2f max %.2f ms\n",
               label, encoded.size(), decoded.size(), frames, listeners, out.delay_p50_ms,
               out.delay_p99_ms, percentile(delays, 1.0), percentile(pacing, 0.5),
               percentile(pacing, 0.99), out.pipeline_p50_ms, out.pipeline_p99_ms,
               percentile(pipeline, 1.0));
  return out;
}

// --- voice_frame_cpu_us_bare and _bare_paced ---------------------------------------------------

// An encoder and a decoder with the node's settings, or nullopt (the reason recorded).
struct BareCodec {
  voice::OpusEncoder encoder;
  voice::OpusDecoder decoder;
};
std::optional<BareCodec> bare_codec(int frame_ms) {
  auto encoder = voice::OpusEncoder::create({frame_ms, voice::kDefaultBitrateBps});
  auto decoder = voice::OpusDecoder::create({frame_ms, voice::kDefaultBitrateBps});
  if (!encoder.is_ok() || !decoder.is_ok()) {
    unavailable("voice: bare: cannot create the Opus encoder or decoder");
    return std::nullopt;
  }
  return BareCodec{std::move(encoder).value(), std::move(decoder).value()};
}

// The clip voice_frame_cpu_us transmits, cut into 20 ms frames as the talker cuts them; the frames
// view `pcm` (a move keeps its buffer, a copy would not: hence no copies).
struct BareClip {
  static constexpr int kFrameMs = 20;
  std::vector<int16_t> pcm;
  std::vector<std::span<const int16_t>> frames;
  BareClip() = default;
  BareClip(BareClip&&) = default;
  BareClip(const BareClip&) = delete;
};
std::optional<BareClip> bare_clip() {
  if (!have_speech()) return std::nullopt;
  std::optional<BareClip> clip(std::in_place);
  clip->pcm = speech(kSpeechMs);
  const auto per_frame = static_cast<size_t>(voice::frame_samples_for(BareClip::kFrameMs));
  for (size_t at = 0; at + per_frame <= clip->pcm.size(); at += per_frame) {
    clip->frames.push_back(std::span<const int16_t>(clip->pcm).subspan(at, per_frame));
  }
  return clip;
}

// Back to back: every frame encoded, then every packet decoded, this thread's CPU time; the
// median of kBarePasses passes after one that warms up.
double measure_bare() {
  const auto clip = bare_clip();
  if (!clip) return NAN;
  const auto& frames = clip->frames;
  std::vector<double> runs, encode_runs;
  for (int pass = 0; pass < kBarePasses + 1; ++pass) {
    auto codec = bare_codec(BareClip::kFrameMs);
    if (!codec) return NAN;
    // Encoded all, then decoded all: four clock reads per pass, none per frame.
    std::vector<Bytes> packets;
    packets.reserve(frames.size());
    const int64_t start = this_thread_cpu_ns();
    for (const auto& frame : frames) {
      auto packet = codec->encoder.encode(frame);
      if (!packet.is_ok()) return unavailable("voice: bare: " + packet.status().message());
      packets.push_back(std::move(packet).value());
    }
    const int64_t encode_ns = this_thread_cpu_ns() - start;
    for (const Bytes& packet : packets) {
      if (!codec->decoder.decode(packet).is_ok()) return unavailable("voice: bare: decode");
    }
    const int64_t total = this_thread_cpu_ns() - start;
    if (pass == 0) continue;
    runs.push_back(static_cast<double>(total) / static_cast<double>(frames.size()) / 1000.0);
    encode_runs.push_back(static_cast<double>(encode_ns) / static_cast<double>(frames.size()) /
                          1000.0);
  }
  std::fprintf(stderr, "bench: voice: bare: encode %.1f us/frame of the median %.1f (%zu frames)\n",
               median(encode_runs), median(runs), frames.size());
  return median(runs);
}

// Each frame handed to `work` at its time, one per frame period, this thread asleep in between:
// this thread's CPU time over the pass (the wake-ups included), or nullopt once `work` fails.
std::optional<int64_t> paced_pass(const std::vector<std::span<const int16_t>>& frames,
                                  const std::function<bool(std::span<const int16_t>)>& work) {
  auto next = SteadyTime::now();
  const int64_t start = this_thread_cpu_ns();
  for (const auto& frame : frames) {
    next += std::chrono::milliseconds(BareClip::kFrameMs);
    std::this_thread::sleep_until(next);
    if (!work(frame)) return std::nullopt;
  }
  return this_thread_cpu_ns() - start;
}

// Paced as a transmission must be: one frame encoded and decoded per frame period, this thread
// asleep in between (so each frame starts with caches other threads have used meanwhile), over
// the same frames, with a codec of its own. Its CPU time over the whole pass, the wake-ups
// included, or nullopt (the reason recorded).
std::optional<int64_t> paced_twin_ns(const std::vector<std::span<const int16_t>>& frames) {
  auto codec = bare_codec(BareClip::kFrameMs);
  if (!codec) return std::nullopt;
  const auto cpu_ns = paced_pass(frames, [&](std::span<const int16_t> frame) {
    auto packet = codec->encoder.encode(frame);
    return packet.is_ok() && codec->decoder.decode(packet.value()).is_ok();
  });
  if (!cpu_ns) unavailable("voice: bare paced: encode or decode failed");
  return cpu_ns;
}

// --- voice_frame_cpu_us: talker + 1 listener ---------------------------------------------------

struct CpuFigures {
  double frame_cpu_us = NAN;   // the whole transmission
  double steady_cpu_us = NAN;  // from when frame kSkipFrames is due to when F - kSkipFrames is
  double idle_cpu_us = NAN;    // no transmission
  double paced_cpu_us = NAN;   // the paced twin, passes taken between the transmissions
  std::string na;
};

// One transmission's figures, from a lab of its own.
struct CpuPass {
  double whole_us = NAN;
  double steady_us = NAN;
};

// Two Samples of `lab` taken by a thread of its own at two given moments, asleep in between (the
// nodes do not trace: a trace of each frame would be the bench's work counted as theirs). The
// talker's frames come one a frame period from talk() on, so frame k is due k periods after it.
class TimedMarks {
 public:
  TimedMarks(const VoiceLab& lab, SteadyTime::time_point first, SteadyTime::time_point last)
      : thread_([this, &lab, first, last] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (stopped_.wait_until(lock, first, [this] { return stop_; })) return;
          from_ = lab.sample();
          if (stopped_.wait_until(lock, last, [this] { return stop_; })) return;
          to_ = lab.sample();
        }) {}
  ~TimedMarks() { stop(); }
  TimedMarks(const TimedMarks&) = delete;
  TimedMarks& operator=(const TimedMarks&) = delete;

  // The samples taken so far; any moment not yet come is given up.
  std::pair<std::optional<Sample>, std::optional<Sample>> take() {
    stop();
    return {from_, to_};
  }

 private:
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    stopped_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  std::mutex mutex_;
  std::condition_variable stopped_;
  bool stop_ = false;
  std::optional<Sample> from_, to_;
  std::thread thread_;  // last: it starts once the members above are made
};

// A talker and one listener set up afresh, the idle CPU measured first when `idle_us` is given,
// then one transmission of `clip`; the per-thread breakdown of its steady part to stderr.
std::optional<CpuPass> cpu_pass(int pass, const std::string& clip, uint32_t frames,
                                double* idle_us) {
  const int frame_ms = 20;
  VoiceLab lab(1, frame_ms, false, false);
  if (!lab.set_up({1})) return std::nullopt;
  const uint32_t first = kSkipFrames, last = frames - kSkipFrames;
  auto per_frame_us = [](double ns, double n) { return ns / n / 1000.0; };

  // Idle: the same two nodes and nobody talking (heartbeats, timers), per frame period. Counted
  // from a second after the set-up: its last handshakes and commits are not idle work.
  std::this_thread::sleep_for(std::chrono::milliseconds(kSettleMs));
  if (idle_us != nullptr) {
    const Sample idle_from = lab.sample();
    std::this_thread::sleep_for(std::chrono::milliseconds(kIdleMs));
    const Sample idle_to = lab.sample();
    const auto idle_wall_ns = static_cast<double>(idle_to.steady_ns - idle_from.steady_ns);
    *idle_us = per_frame_us(static_cast<double>(idle_to.process_ns - idle_from.process_ns),
                            idle_wall_ns / (frame_ms * 1e6));
  }

  const auto period = std::chrono::milliseconds(frame_ms);
  const auto talk_at = SteadyTime::now();
  TimedMarks marks(lab, talk_at + first * period, talk_at + last * period);
  const Sample whole_from = lab.sample();
  const std::string id = lab.talk(1, clip);
  const Sample whole_to = lab.sample();
  auto [from, to] = marks.take();
  if (id.empty()) return std::nullopt;
  if (!from || !to) {
    unavailable("voice: cpu: the transmission ended before frame " + std::to_string(last));
    return std::nullopt;
  }
  CpuPass figures;
  figures.whole_us =
      per_frame_us(static_cast<double>(whole_to.process_ns - whole_from.process_ns), frames);
  const double n = last - first;
  figures.steady_us = per_frame_us(static_cast<double>(to->process_ns - from->process_ns), n);

  auto part = [&](int node, bool zmq) {
    return per_frame_us(static_cast<double>(lab.node_cpu_ns(*from, *to, node, "ZMQ", !zmq)), n);
  };
  const double talker_loop = part(0, false), talker_zmq = part(0, true);
  const double listener_loop = part(1, false), listener_zmq = part(1, true);
  std::fprintf(
      stderr,
      "bench: voice: cpu: pass %d: the whole transmission (VoiceStart, %u frames, VoiceEnd, clip "
      "signed and archived by both, until the listener ended it) %.1f us/frame; frames %u..%u over "
      "%.0f ms %.1f us/frame = talker loop %.1f + "
      "talker ZeroMQ %.1f + listener loop %.1f + listener ZeroMQ %.1f + other %.1f (threads: "
      "talker [%s], listener [%s])\n",
      pass, frames, figures.whole_us, first, last,
      static_cast<double>(to->steady_ns - from->steady_ns) / 1e6, figures.steady_us, talker_loop,
      talker_zmq, listener_loop, listener_zmq,
      figures.steady_us - talker_loop - talker_zmq - listener_loop - listener_zmq,
      lab.describe_threads(0).c_str(), lab.describe_threads(1).c_str());
  // What the start and the end cost above the steady rate, in CPU ms a transmission.
  const double steady_ns = static_cast<double>(to->process_ns - from->process_ns) / n;
  std::fprintf(
      stderr,
      "bench: voice: cpu: pass %d: above the steady rate: the start (talk() to frame %u) %.1f "
      "ms, the end (frame %u to the listener's end) %.1f ms\n",
      pass, first,
      (static_cast<double>(from->process_ns - whole_from.process_ns) - first * steady_ns) / 1e6,
      last,
      (static_cast<double>(whole_to.process_ns - to->process_ns) - (frames - last) * steady_ns) /
          1e6);
  return figures;
}

// The node's transmissions and the paced twin's passes taken in turn, kCpuPasses of each, and
// each figure the median of its passes. Taken one after the other once, the two sides of the
// ratio saw different stretches of this VM: the Opus encoder alone, the same code on the same
// frames, moves by ~100 us a frame between ten-second stretches here, as much as the whole of
// sotto's own work. In turn, a slow stretch falls on both sides; the median leaves out one pass
// that met one.
CpuFigures measure_cpu() {
  CpuFigures figures;
  if (!have_speech()) return figures;
  test::TempDir tmp;
  const auto [clip, frames] = write_clip(tmp, kSpeechMs, BareClip::kFrameMs);
  const auto twin_clip = bare_clip();
  if (!twin_clip) return figures;
  std::vector<double> whole, steady, paced;
  for (int pass = 1; pass <= kCpuPasses; ++pass) {
    const auto node = cpu_pass(pass, clip, frames, pass == 1 ? &figures.idle_cpu_us : nullptr);
    if (!node) return figures;
    // After the lab is gone: the twin runs, as ever, with no node alive beside it.
    const auto twin_ns = paced_twin_ns(twin_clip->frames);
    if (!twin_ns) return figures;
    const double twin_us =
        static_cast<double>(*twin_ns) / static_cast<double>(twin_clip->frames.size()) / 1000.0;
    std::fprintf(
        stderr,
        "bench: voice: cpu: pass %d: sotto %.1f us/frame, the paced twin %.1f: ratio %.2f\n", pass,
        node->whole_us, twin_us, node->whole_us / twin_us);
    whole.push_back(node->whole_us);
    steady.push_back(node->steady_us);
    paced.push_back(twin_us);
  }
  figures.frame_cpu_us = median(whole);
  figures.steady_cpu_us = median(steady);
  figures.paced_cpu_us = median(paced);
  return figures;
}

const CpuFigures& cpu_figures() {
  return figures_once<CpuFigures, measure_cpu>();
}

// --- voice_frame_cpu_us_bare_pipeline ---------------------------------------------------------

// Two-ended, as a transmission must be: a talker thread paced at one frame per 20 ms encodes each
// frame and sends it as one UDP datagram on 127.0.0.1; a listener thread, asleep in poll until it
// comes, reads and decodes it. Both threads' CPU time over the pass, per frame: what the two
// wake-ups a frame and the loopback send and receive cost on this machine, without sotto's own
// work.
double measure_bare_pipeline() {
  const auto clip = bare_clip();
  if (!clip) return NAN;
  auto codec = bare_codec(BareClip::kFrameMs);
  if (!codec) return NAN;
  const auto& frames = clip->frames;
  auto receiver = net::UdpSocket::bind("127.0.0.1", 0);
  auto sender = net::UdpSocket::bind("127.0.0.1", 0);
  if (!receiver.is_ok() || !sender.is_ok() || !receiver.value().local_port().is_ok()) {
    return unavailable("voice: bare pipeline: cannot bind a UDP socket on 127.0.0.1");
  }
  const uint16_t port = receiver.value().local_port().value();
  size_t decoded = 0;
  int64_t listener_ns = 0;
  std::thread listener([&] {
    const int64_t start = this_thread_cpu_ns();
    pollfd wait_for{receiver.value().fd(), POLLIN, 0};
    // A second without a datagram: one was lost, and the figure is not made.
    while (decoded < frames.size() && ::poll(&wait_for, 1, 1000) > 0) {
      auto got = receiver.value().receive(net::UdpSocket::kMaxReceivable);
      if (!got.is_ok() || !got.value()) continue;
      if (!codec->decoder.decode(got.value()->data).is_ok()) break;
      ++decoded;
    }
    listener_ns = this_thread_cpu_ns() - start;
  });
  const auto talker_ns = paced_pass(frames, [&](std::span<const int16_t> frame) {
    auto packet = codec->encoder.encode(frame);
    return packet.is_ok() && sender.value().send_to("127.0.0.1", port, packet.value()).is_ok();
  });
  listener.join();
  if (!talker_ns) return unavailable("voice: bare pipeline: encode or send failed");
  if (decoded != frames.size()) {
    return unavailable("voice: bare pipeline: " + std::to_string(frames.size() - decoded) +
                       " datagrams lost or not decoded on loopback");
  }
  const auto per_frame_us = [&](int64_t ns) {
    return static_cast<double>(ns) / static_cast<double>(frames.size()) / 1000.0;
  };
  // Set beside the node's talker loop and listener loop in the same run's cpu line.
  std::fprintf(stderr,
               "bench: voice: bare pipeline: talker thread %.1f + listener thread %.1f us/frame\n",
               per_frame_us(*talker_ns), per_frame_us(listener_ns));
  return per_frame_us(*talker_ns + listener_ns);
}

// The fan-out voice_pipeline_p99_ms measures, with the bare libraries and the kernel alone: a
// talker thread paced at one frame per 20 ms encodes each frame and sends it to kListeners
// listener threads on 127.0.0.1 in one sendmmsg, as a talker node does; each listener, asleep in
// poll until it comes, reads and decodes it. Encoder input -> decoded PCM at each listener, over
// every frame at every listener: the p99 this machine gives two-ended without sotto's work, with
// the same eight wake-ups a frame sharing its cores.
double measure_bare_pipeline_fanout() {
  const auto clip = bare_clip();
  if (!clip) return NAN;
  const auto& frames = clip->frames;
  auto encoder = voice::OpusEncoder::create({BareClip::kFrameMs, voice::kDefaultBitrateBps});
  auto sender = net::UdpSocket::bind("127.0.0.1", 0);
  if (!encoder.is_ok() || !sender.is_ok()) {
    return unavailable("voice: bare fan-out: cannot create the encoder or a UDP socket");
  }
  struct Listener {
    net::UdpSocket socket;
    voice::OpusDecoder decoder;
    std::vector<int64_t> decoded_ns;  // by frame; 0 while not decoded
  };
  std::vector<Listener> listeners;
  std::vector<net::OutgoingDatagram> fan_out;
  for (int i = 0; i < kListeners; ++i) {
    auto socket = net::UdpSocket::bind("127.0.0.1", 0);
    auto decoder = voice::OpusDecoder::create({BareClip::kFrameMs, voice::kDefaultBitrateBps});
    if (!socket.is_ok() || !decoder.is_ok() || !socket.value().local_port().is_ok()) {
      return unavailable("voice: bare fan-out: cannot create a listener's socket or decoder");
    }
    fan_out.push_back({*net::ipv4_of("127.0.0.1"), socket.value().local_port().value(), {}});
    listeners.push_back({std::move(socket).value(), std::move(decoder).value(),
                         std::vector<int64_t>(frames.size(), 0)});
  }
  std::vector<std::thread> threads;
  for (Listener& listener : listeners) {
    threads.emplace_back([&listener, count = frames.size()] {
      pollfd wait_for{listener.socket.fd(), POLLIN, 0};
      size_t decoded = 0;
      // A second without a datagram: one was lost, and the figure is not made.
      while (decoded<count&& ::poll(&wait_for, 1, 1000)> 0) {
        for (;;) {
          auto got = listener.socket.receive(net::UdpSocket::kMaxReceivable);
          if (!got.is_ok() || !got.value() || got.value()->data.size() < 4) break;
          const Bytes& data = got.value()->data;
          const uint32_t seq = uint32_t{data[0]} | uint32_t{data[1]} << 8 |
                               uint32_t{data[2]} << 16 | uint32_t{data[3]} << 24;
          if (seq >= count || !listener.decoder.decode(ByteView(data).subspan(4)).is_ok()) break;
          listener.decoded_ns[seq] = steady_now_ns();
          ++decoded;
        }
      }
    });
  }
  std::vector<int64_t> encode_ns(frames.size(), 0);
  uint32_t seq = 0;
  const auto sent = paced_pass(frames, [&](std::span<const int16_t> frame) {
    encode_ns[seq] = steady_now_ns();
    auto packet = encoder.value().encode(frame);
    if (!packet.is_ok()) return false;
    Bytes data;
    append_le32(data, seq);
    data.insert(data.end(), packet.value().begin(), packet.value().end());
    for (auto& datagram : fan_out) datagram.data = data;
    ++seq;
    return sender.value().send_all(fan_out) == 0;  // none refused
  });
  for (auto& thread : threads) thread.join();
  if (!sent) return unavailable("voice: bare fan-out: encode or send failed");
  std::vector<double> pipeline;
  for (const Listener& listener : listeners) {
    for (size_t i = 0; i < frames.size(); ++i) {
      if (listener.decoded_ns[i] == 0) {
        return unavailable("voice: bare fan-out: a datagram was lost or not decoded on loopback");
      }
      pipeline.push_back(static_cast<double>(listener.decoded_ns[i] - encode_ns[i]) / 1e6);
    }
  }
  std::fprintf(stderr,
               "bench: voice: bare fan-out, %d listeners, 20 ms: encoder input -> decoded p50 "
               "%.2f ms, p99 %.2f, max %.2f\n",
               kListeners, percentile(pipeline, 0.5), percentile(pipeline, 0.99),
               percentile(pipeline, 1.0));
  return percentile(pipeline, 0.99);
}

// --- 1 talker, 8 listeners, 20 ms: delays, pipeline, max listeners -----------------------------

struct FanoutFigures {
  double delay_p50_ms = NAN;
  double delay_p99_ms = NAN;
  double pipeline_p99_ms = NAN;
  double max_listeners = NAN;
  std::string na;
};

// The talker node's CPU per frame (its own threads only), steady state, idle subtracted, and the
// part of it its encoder took (NAN when a run failed).
struct TalkerCost {
  double total_us = NAN;
  double encode_us = NAN;
};
TalkerCost talker_cost_us(VoiceLab& lab, int size, const std::string& clip, uint32_t frames,
                          double talker_idle_per_ns, std::string* id_out = nullptr) {
  const uint32_t first = kSkipFrames, last = frames - kSkipFrames;
  lab.traces().mark(first, last, [&lab] { return lab.sample(); });
  const uint64_t talker_faults = lab.node_faults(0), listener_faults = lab.node_faults(1);
  const std::string id = lab.talk(size, clip);
  if (id_out != nullptr) *id_out = id;
  if (id.empty()) return {};
  std::fprintf(stderr,
               "bench: voice: talker with %d listener(s): page faults over the transmission: "
               "talker %llu, listener0 %llu\n",
               size, static_cast<unsigned long long>(lab.node_faults(0) - talker_faults),
               static_cast<unsigned long long>(lab.node_faults(1) - listener_faults));
  auto [from, to] = lab.traces().marks();
  if (!from || !to) return {};
  const double n = last - first;
  const double idle_ns = talker_idle_per_ns * static_cast<double>(to->steady_ns - from->steady_ns);
  TalkerCost cost;
  cost.total_us = (static_cast<double>(lab.node_cpu_ns(*from, *to, 0)) - idle_ns) / n / 1000.0;
  // The marks are taken once frames `first` and `last` are encoded: the encodes between them
  // are those of frames first + 1 .. last.
  int64_t encode_ns = 0;
  for (const auto& e : lab.traces().encoded(id)) {
    if (e.seq > first && e.seq <= last) encode_ns += e.encode_cpu_ns;
  }
  cost.encode_us = static_cast<double>(encode_ns) / n / 1000.0;
  const double zmq = static_cast<double>(lab.node_cpu_ns(*from, *to, 0, "ZMQ", false)) / n / 1000.0;
  std::fprintf(stderr,
               "bench: voice: talker with %d listener(s): %.1f us/frame, its encoder %.1f (its "
               "ZeroMQ threads %.1f before idle; idle subtracted %.1f)\n",
               size, cost.total_us, cost.encode_us, zmq, idle_ns / n / 1000.0);
  return cost;
}

FanoutFigures measure_fanout() {
  FanoutFigures figures;
  if (!have_speech()) return figures;
  test::TempDir tmp;
  const int frame_ms = 20;
  const auto [clip, frames] = write_clip(tmp, kSpeechMs, frame_ms);
  const auto [short_clip, short_frames] = write_clip(tmp, kShortSpeechMs, frame_ms);
  const std::vector<int> sizes = {1, 2, 4, kListeners};
  VoiceLab lab(kListeners, frame_ms, true);
  const auto set_up_at = SteadyTime::now();
  if (!lab.set_up(sizes)) return figures;
  std::fprintf(stderr, "bench: voice: %d nodes set up in %.1f s; talker threads [%s]\n",
               kListeners + 1, std::chrono::duration<double>(SteadyTime::now() - set_up_at).count(),
               lab.describe_threads(0).c_str());

  // The talker's own idle CPU (heartbeats to 8 peers, timers), once the set-up has settled.
  std::this_thread::sleep_for(std::chrono::milliseconds(kSettleMs));
  const Sample idle_from = lab.sample();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const Sample idle_to = lab.sample();
  const double talker_idle_per_ns = static_cast<double>(lab.node_cpu_ns(idle_from, idle_to, 0)) /
                                    static_cast<double>(idle_to.steady_ns - idle_from.steady_ns);

  // The talker's cost with 1, 2 and 4 listeners before the 8-listener run and again after it, in
  // reverse: a load on the machine that drifts during the runs tilts the line less.
  std::vector<std::pair<int, TalkerCost>> costs;
  for (int size : {1, 2, 4}) {
    costs.emplace_back(size,
                       talker_cost_us(lab, size, short_clip, short_frames, talker_idle_per_ns));
  }
  std::string id;
  // Links a transmission opens are CURVE handshakes on the I/O threads while frames flow.
  const uint64_t handshakes_before = lab.counter_sum("link_handshakes");
  const uint64_t on_demand_before = lab.counter_sum("links_opened_on_demand");
  costs.emplace_back(kListeners,
                     talker_cost_us(lab, kListeners, clip, frames, talker_idle_per_ns, &id));
  if (id.empty()) return figures;
  std::fprintf(
      stderr,
      "bench: voice: 8 listeners, 20 ms: links during the transmission: %llu handshakes, "
      "%llu opened on demand (all nodes)\n",
      static_cast<unsigned long long>(lab.counter_sum("link_handshakes") - handshakes_before),
      static_cast<unsigned long long>(lab.counter_sum("links_opened_on_demand") -
                                      on_demand_before));
  const Delays delays = delays_of(lab.traces(), id, kListeners, frames, "8 listeners, 20 ms");
  figures.delay_p50_ms = delays.delay_p50_ms;
  figures.delay_p99_ms = delays.delay_p99_ms;
  figures.pipeline_p99_ms = delays.pipeline_p99_ms;
  for (int size : {4, 2, 1}) {
    costs.emplace_back(size,
                       talker_cost_us(lab, size, short_clip, short_frames, talker_idle_per_ns));
  }
  // cost - encode = c + b * N, fitted by Theil-Sen (b the median of the slopes between every two
  // runs with different N, c the median of cost - encode - b * N): one run in a slow stretch of
  // this VM tilts a least-squares line by itself, but not a median. The encoder's part, the
  // same whatever N, comes back as the runs' median.
  std::vector<double> encodes, slopes, intercepts;
  for (size_t i = 0; i < costs.size(); ++i) {
    const auto& [n, cost] = costs[i];
    if (std::isnan(cost.total_us) || std::isnan(cost.encode_us)) return figures;
    encodes.push_back(cost.encode_us);
    for (size_t j = i + 1; j < costs.size(); ++j) {
      const auto& [m, other] = costs[j];
      if (m == n) continue;
      slopes.push_back(((other.total_us - other.encode_us) - (cost.total_us - cost.encode_us)) /
                       (m - n));
    }
  }
  const double b = median(slopes);
  for (const auto& [n, cost] : costs) intercepts.push_back(cost.total_us - cost.encode_us - b * n);
  const double a = median(intercepts) + median(encodes);
  const double budget_us = frame_ms * 1000.0 * kUtilisationBudget;
  if (b <= 0) {
    unavailable("voice: max listeners: no per-listener cost measured (b = " + std::to_string(b) +
                ")");
    return figures;
  }
  figures.max_listeners = std::max(0.0, std::floor((budget_us - a) / b));
  std::fprintf(stderr,
               "bench: voice: max listeners (extrapolated): talker cost = %.1f (its encoder's "
               "median %.1f included) + %.2f us x N per frame; floor((%.0f us - a) / b) = %.0f\n",
               a, median(encodes), b, budget_us, figures.max_listeners);
  return figures;
}

const FanoutFigures& fanout_figures() {
  return figures_once<FanoutFigures, measure_fanout>();
}

// --- 10 ms frames ------------------------------------------------------------------------------

double measure_delay_p99_10ms() {
  if (!have_speech()) return NAN;
  test::TempDir tmp;
  const int frame_ms = 10;
  const auto [clip, frames] = write_clip(tmp, kSpeechMs, frame_ms);
  VoiceLab lab(kListeners, frame_ms, true);
  if (!lab.set_up({kListeners})) return NAN;
  const std::string id = lab.talk(kListeners, clip);
  if (id.empty()) return NAN;
  return delays_of(lab.traces(), id, kListeners, frames, "8 listeners, 10 ms").delay_p99_ms;
}

}  // namespace

double voice_frame_cpu_us() {
  return or_unavailable(cpu_figures().frame_cpu_us, cpu_figures().na);
}
double voice_frame_cpu_us_steady() {
  return or_unavailable(cpu_figures().steady_cpu_us, cpu_figures().na);
}
double voice_idle_cpu_us() {
  return or_unavailable(cpu_figures().idle_cpu_us, cpu_figures().na);
}
double voice_frame_cpu_us_bare() {
  return measured_once<measure_bare>();
}
double voice_frame_cpu_us_bare_paced() {
  return or_unavailable(cpu_figures().paced_cpu_us, cpu_figures().na);
}
double voice_frame_cpu_us_bare_pipeline() {
  return measured_once<measure_bare_pipeline>();
}
double voice_delay_p50_ms() {
  return or_unavailable(fanout_figures().delay_p50_ms, fanout_figures().na);
}
double voice_delay_p99_ms() {
  return or_unavailable(fanout_figures().delay_p99_ms, fanout_figures().na);
}
double voice_delay_p99_ms_10ms() {
  return measured_once<measure_delay_p99_10ms>();
}
double voice_pipeline_p99_ms() {
  return or_unavailable(fanout_figures().pipeline_p99_ms, fanout_figures().na);
}
double voice_pipeline_p99_ms_bare() {
  return measured_once<measure_bare_pipeline_fanout>();
}
double voice_max_listeners() {
  return or_unavailable(fanout_figures().max_listeners, fanout_figures().na);
}

}  // namespace sotto::bench
