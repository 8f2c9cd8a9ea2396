// 1:1 text between two real nodes on loopback (each its own thread, profile and sockets):
//   text_throughput_msgs_per_s  messages sent until all are delivered (receipts in, both sides
//                               committed with synchronous=FULL); median of kThroughputRuns runs
//   text_latency_p50_us / p99   send_text() until the receiver has committed the message: until
//                               it publishes the MessageEvent, which it does after the commit
//                               (and its receipt); the event's own trip to this thread is not
//                               timed. One message in flight at a time (the next is sent once
//                               this one's receipt is in); the percentiles of every message
//                               timed, pooled over kLatencyRuns runs and the warm-up before them
//                               (so the slowest run's tail is in the p99, and the first message,
//                               which carries the X3DH pre-key message, is counted)
// Throughput is measured after a warm-up flood: the first message carries the X3DH pre-key
// message, and the first few hundred fill the statement caches and the page caches.
//
//   text_throughput_msgs_per_s_bare  the least work the same flood needs, through the bare
//       libraries: a sending thread and a receiving thread, each with its own bare SQLCipher file
//       (bare_sqlcipher.h: sotto's settings; synchronous=FULL) and Signal on in-memory stores,
//       over one bare ZeroMQ DEALER/ROUTER pair with CURVE (bare_curve.h). The sender, per batch
//       of up to 256 messages: one transaction that encrypts each, inserts its archive row and
//       its outbox row (the ciphertext), writes its session record once (sotto's held Signal
//       state writes a peer's session once per batch too), commits; then it sends them. The
//       receiver takes every frame waiting (up to 256) into one transaction that decrypts each,
//       inserts its archive row, writes its session record once, commits, and answers with one
//       receipt frame of their ids. The sender takes the receipts waiting into one transaction
//       (synchronous=NORMAL, as sotto's receipt-only commits) that marks each delivered and
//       deletes its outbox row. Nothing more: no "sent" state, events, flow control, retries or
//       search index. Same counts and median as text_throughput_msgs_per_s.
//   text_latency_p50_us_bare / p99  the same one-message path through that bare pair: the
//       sender's transaction (encrypt, archive row, outbox row, commit), the frame, the
//       receiver's transaction (decrypt, archive row, commit); timed from the send to the
//       receiver's COMMIT returning, the next message sent once the receipt is in (each side's
//       transaction writes its session record too). Same counts and pooled percentiles as
//       text_latency_p50_us. (text_latency_us_bare, in bench_main.cpp, is the
//       issue's sum of parts: one encrypt + decrypt, one round trip, ONE commit; the path above
//       has two commits, each an fsync.)
#include <sodium.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sotto/core/node.h"
#include "sotto/crypto/signal_engine.h"
#include "tests/bench/bare_curve.h"
#include "tests/bench/bare_sqlcipher.h"
#include "tests/bench/bench.h"
#include "tests/support/test_node.h"
#include "tests/support/wait.h"

namespace sotto::bench {
namespace {

using Stopwatch = std::chrono::steady_clock;
constexpr int kThroughputRuns = 3;
constexpr int kThroughputMessages = 10000;  // per run
constexpr int kWarmupMessages = 100;
constexpr int kLatencyRuns = 5;
constexpr int kLatencyMessages = 500;  // per run; the pooled p99 rests on the 26 slowest

struct Pair {
  test::TestNode alice{"alice"};
  test::TestNode bob{"bob", peers_of(alice)};

  static core::NodeOptions peers_of(test::TestNode& other) {
    core::NodeOptions options = test::loopback_options();
    options.peers.push_back(core::PeerSpec::parse(other.endpoint()).value());
    return options;
  }

  bool connect() {
    if (!test::wait_until([&] { return alice.sees_online(bob) && bob.sees_online(alice); },
                          std::chrono::seconds(5))) {
      (void)unavailable("text: the nodes did not connect");
      return false;
    }
    auto added = alice.node().add_contact(bob.fingerprint(), "bob");
    if (!added.is_ok()) {
      (void)unavailable("text: add_contact: " + added.status().message());
      return false;
    }
    return true;
  }

  // Sends `count` messages pipelined (sends queued together share one commit) and waits for
  // their receipts. Returns the seconds from the first send to the last receipt.
  std::optional<double> flood(int count, const std::string& tag) {
    const uint64_t before = alice.counter("receipts_received");
    const auto start = Stopwatch::now();
    std::vector<std::future<Result<core::MessageInfo>>> sends;
    sends.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      sends.push_back(alice.node().send_text_async("bob", tag + " message " + std::to_string(i)));
    }
    for (auto& sent : sends) {
      auto result = sent.get();
      if (!result.is_ok()) {
        (void)unavailable("text: a send failed: " + result.status().message());
        return std::nullopt;
      }
    }
    if (!test::wait_until(
            [&] {
              return alice.counter("receipts_received") >= before + static_cast<uint64_t>(count);
            },
            std::chrono::seconds(120))) {
      (void)unavailable("text: receipts missing after 120 s");
      return std::nullopt;
    }
    return std::chrono::duration<double>(Stopwatch::now() - start).count();
  }
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Nearest rank: the smallest value that `pct` % of all are at or below.
double percentile(std::vector<double> values, int pct) {
  std::sort(values.begin(), values.end());
  const size_t rank = (values.size() * static_cast<size_t>(pct) + 99) / 100;
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

// Messages per second through `pair` (a Pair or a BareFlood): the median of kThroughputRuns
// floods after a warm-up.
template <typename Flooder>
std::optional<double> median_flood_rate(Flooder& pair) {
  if (!pair.flood(kWarmupMessages, "warm-up")) return std::nullopt;
  std::vector<double> rates;
  for (int run = 0; run < kThroughputRuns; ++run) {
    auto seconds = pair.flood(kThroughputMessages, "run " + std::to_string(run));
    if (!seconds) return std::nullopt;
    rates.push_back(kThroughputMessages / *seconds);
  }
  return median(rates);
}

std::optional<double> measure_throughput() {
  Pair pair;
  if (!pair.connect()) return std::nullopt;
  return median_flood_rate(pair);
}

struct Latencies {
  double p50_us = 0;
  double p99_us = 0;
};

// Percentiles of `one` (microseconds for one message, nullopt on failure) over every message
// timed: the warm-up and kLatencyRuns runs, pooled.
template <typename OneMessage>
std::optional<Latencies> latency_percentiles(OneMessage&& one) {
  std::vector<double> samples;
  samples.reserve(kWarmupMessages + kLatencyRuns * kLatencyMessages);
  for (int i = 0; i < kWarmupMessages; ++i) {
    auto us = one("warm-up " + std::to_string(i));
    if (!us) return std::nullopt;
    samples.push_back(*us);
  }
  for (int run = 0; run < kLatencyRuns; ++run) {
    for (int i = 0; i < kLatencyMessages; ++i) {
      auto us = one("ping " + std::to_string(run) + "." + std::to_string(i));
      if (!us) return std::nullopt;
      samples.push_back(*us);
    }
  }
  std::fprintf(stderr, "bench: text: latency of the first message %.0f us, the slowest %.0f us\n",
               samples.front(), percentile(samples, 100));
  return Latencies{percentile(samples, 50), percentile(samples, 99)};
}

std::optional<Latencies> measure_latency() {
  Pair pair;
  if (!pair.connect()) return std::nullopt;
  auto events = pair.bob.node().subscribe();
  // When bob published his next MessageEvent, which he does once it is committed; receipts and
  // peer events in between are skipped.
  auto committed_at_bob = [&]() -> std::optional<Stopwatch::time_point> {
    for (;;) {
      auto event = events->wait_pop(5000);
      if (!event) {
        (void)unavailable("text: a message did not arrive within 5 s");
        return std::nullopt;
      }
      if (std::holds_alternative<core::MessageEvent>(event->body)) return event->published_at;
    }
  };
  auto one = [&](const std::string& text) -> std::optional<double> {
    const uint64_t receipts_before = pair.alice.counter("receipts_received");
    const auto start = Stopwatch::now();
    auto sent = pair.alice.node().send_text("bob", text);
    if (!sent.is_ok()) {
      (void)unavailable("text: a send failed: " + sent.status().message());
      return std::nullopt;
    }
    const auto committed = committed_at_bob();
    if (!committed) return std::nullopt;
    const double us = std::chrono::duration<double, std::micro>(*committed - start).count();
    // In flight until its receipt is in: the next message does not queue behind the
    // processing of this one's receipt.
    if (!test::wait_until([&] { return pair.alice.counter("receipts_received") > receipts_before; },
                          std::chrono::seconds(5))) {
      (void)unavailable("text: no receipt within 5 s");
      return std::nullopt;
    }
    return us;
  };
  return latency_percentiles(one);
}

// --- the bare twin -----------------------------------------------------------------------------

constexpr int kBareBatch = 256;  // messages per transaction, as the messenger's send slice
constexpr size_t kIdSize = 16;

[[noreturn]] void bare_failed(const std::string& what) {
  std::fprintf(stderr, "bench: text bare: %s\n", what.c_str());
  std::exit(1);
}

// One side's bare SQLCipher file and the statements that side runs.
class BareArchive {
 public:
  BareArchive() : db_(open_bare_sqlcipher(tmp_ / "bare.db", Sync::kFull)) {
    insert_ = prepare_bare_insert(db_);
    sessions_ = std::make_unique<BareSessionStore>(db_);
    transactions_ = std::make_unique<BareTransactions>(db_);
  }
  ~BareArchive() {
    for (sqlite3_stmt* stmt : prepared_) sqlite3_finalize(stmt);
    sqlite3_finalize(insert_);
    sessions_.reset();
    transactions_.reset();
    sqlite3_close(db_);
  }
  BareArchive(const BareArchive&) = delete;
  BareArchive& operator=(const BareArchive&) = delete;

  void begin() { transactions_->begin(); }
  void commit() { transactions_->commit(); }
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      bare_failed(std::string(sql) + ": " + sqlite3_errmsg(db_));
    }
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      bare_failed(std::string(sql) + ": " + sqlite3_errmsg(db_));
    }
    prepared_.push_back(stmt);
    return stmt;
  }
  void run(sqlite3_stmt* stmt) {
    if (sqlite3_step(stmt) != SQLITE_DONE) bare_failed(sqlite3_errmsg(db_));
    sqlite3_reset(stmt);
  }
  // Returns the new row's id.
  int64_t insert(ByteView message_id, const std::string& peer, const std::string& sender,
                 bool outgoing, std::string_view body, int state) {
    sqlite3_bind_blob(insert_, 1, message_id.data(), static_cast<int>(message_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_, 2, peer.data(), static_cast<int>(peer.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_, 3, sender.data(), static_cast<int>(sender.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert_, 4, outgoing ? 1 : 0);
    sqlite3_bind_int64(insert_, 5, 0);
    sqlite3_bind_text(insert_, 6, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert_, 7, 0);
    sqlite3_bind_int64(insert_, 8, 0);
    sqlite3_bind_int64(insert_, 9, state);
    run(insert_);
    return sqlite3_last_insert_rowid(db_);
  }
  // Writes `signal`'s session with `peer` as it is now, as sotto's Signal store does.
  void store_session(const MemorySignal& signal, const std::string& peer) {
    sessions_->store(peer, crypto::SignalEngine::kDeviceId, signal.session_with(peer));
  }

 private:
  test::TempDir tmp_;
  sqlite3* db_;
  sqlite3_stmt* insert_ = nullptr;
  std::unique_ptr<BareSessionStore> sessions_;
  std::unique_ptr<BareTransactions> transactions_;
  std::vector<sqlite3_stmt*> prepared_;
};

// Alice sends, Bob receives on a thread of his own; see the top of this file.
class BareFlood {
 public:
  BareFlood()
      : alice_(memory_signal_engine()),
        bob_(memory_signal_engine()),
        alice_id_(crypto::fingerprint_of(alice_.engine->identity().public_key)),
        bob_id_(crypto::fingerprint_of(bob_.engine->identity().public_key)) {
    auto bundle = bob_.engine->bundle();
    if (!bundle.is_ok() || !alice_.engine->process_bundle(bob_id_, bundle.value()).is_ok()) {
      bare_failed("X3DH with the bundle failed");
    }
    const CurveKeys server = CurveKeys::generate();
    const CurveKeys client = CurveKeys::generate();
    std::string endpoint;
    // Unbounded queues: a full ROUTER queue drops, and a dropped receipt would never come back.
    router_ = bare_curve_router(bob_ctx_, server, endpoint, 0);
    dealer_ = bare_curve_dealer(alice_ctx_, endpoint, server, client, 0);
    alice_db_.exec(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY, message_row INTEGER NOT NULL,"
        " frame BLOB NOT NULL);"
        "CREATE INDEX outbox_by_message ON outbox (message_row);");
    add_to_outbox_ = alice_db_.prepare("INSERT INTO outbox (message_row, frame) VALUES (?1, ?2)");
    mark_delivered_ =
        alice_db_.prepare("UPDATE messages SET state = 2 WHERE sender = ?1 AND message_id = ?2");
    clear_outbox_ = alice_db_.prepare(
        "DELETE FROM outbox WHERE message_row ="
        " (SELECT id FROM messages WHERE sender = ?1 AND message_id = ?2)");
    receiver_ = std::thread([this] { receive(); });
  }
  ~BareFlood() {
    stop_ = true;
    receiver_.join();
    zmq_close(dealer_);
    zmq_close(router_);
    zmq_ctx_term(alice_ctx_);
    zmq_ctx_term(bob_ctx_);
  }
  BareFlood(const BareFlood&) = delete;
  BareFlood& operator=(const BareFlood&) = delete;

  // Microseconds from one message's send until Bob has committed it, then waits for its receipt.
  std::optional<double> one_latency_us(const std::string& text) {
    const auto start = Stopwatch::now();
    alice_db_.begin();
    const std::string frame = seal(text);
    alice_db_.store_session(alice_, bob_id_);
    alice_db_.commit();
    zmq_send(dealer_, frame.data(), frame.size(), 0);
    if (take_receipts(5000) != 1) return std::nullopt;
    const Stopwatch::time_point committed{Stopwatch::duration(bob_committed_at_.load())};
    return std::chrono::duration<double, std::micro>(committed - start).count();
  }

  // Seconds from the first send to the last receipt.
  std::optional<double> flood(int count, const std::string& tag) {
    const auto start = Stopwatch::now();
    int sent = 0;
    int delivered = 0;
    std::vector<std::string> frames;
    while (delivered < count) {
      if (sent < count) {
        frames.clear();
        alice_db_.begin();
        for (const int end = std::min(count, sent + kBareBatch); sent < end; ++sent) {
          frames.push_back(seal(tag + " message " + std::to_string(sent)));
        }
        alice_db_.store_session(alice_, bob_id_);
        alice_db_.commit();
        for (const std::string& frame : frames) zmq_send(dealer_, frame.data(), frame.size(), 0);
      }
      const int got = take_receipts(sent < count ? 0 : 5000);
      if (got < 0) return std::nullopt;
      delivered += got;
    }
    return std::chrono::duration<double>(Stopwatch::now() - start).count();
  }

 private:
  // Encrypts one message and stores it with its outbox row; returns its frame (type, ciphertext).
  std::string seal(const std::string& body) {
    Bytes plaintext(kIdSize);
    randombytes_buf(plaintext.data(), kIdSize);
    plaintext.insert(plaintext.end(), body.begin(), body.end());
    auto ciphertext = alice_.engine->encrypt(bob_id_, plaintext);
    if (!ciphertext.is_ok()) bare_failed("encrypt: " + ciphertext.status().message());
    const int64_t row =
        alice_db_.insert(ByteView(plaintext.data(), kIdSize), bob_id_, alice_id_, true, body, 0);
    std::string frame(1, static_cast<char>(ciphertext.value().type));
    frame.append(ciphertext.value().bytes.begin(), ciphertext.value().bytes.end());
    sqlite3_bind_int64(add_to_outbox_, 1, row);
    sqlite3_bind_blob(add_to_outbox_, 2, frame.data(), static_cast<int>(frame.size()),
                      SQLITE_STATIC);
    alice_db_.run(add_to_outbox_);
    return frame;
  }

  // Waits up to `timeout_ms` for a receipt, then applies every receipt waiting in one
  // transaction. Returns the messages delivered, or -1 when none came in a wait that was meant
  // to see one.
  int take_receipts(long timeout_ms) {
    zmq_pollitem_t item{dealer_, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0) {
      if (timeout_ms == 0) return 0;
      (void)unavailable("text bare: no receipt within " + std::to_string(timeout_ms) + " ms");
      return -1;
    }
    int delivered = 0;
    char ids[kBareBatch * kIdSize];
    alice_db_.exec("PRAGMA synchronous = NORMAL");
    alice_db_.begin();
    for (int size; (size = zmq_recv(dealer_, ids, sizeof ids, ZMQ_DONTWAIT)) >= 0;) {
      for (size_t at = 0; at + kIdSize <= static_cast<size_t>(size); at += kIdSize) {
        for (sqlite3_stmt* stmt : {mark_delivered_, clear_outbox_}) {
          sqlite3_bind_text(stmt, 1, alice_id_.data(), static_cast<int>(alice_id_.size()),
                            SQLITE_STATIC);
          sqlite3_bind_blob(stmt, 2, ids + at, kIdSize, SQLITE_STATIC);
          alice_db_.run(stmt);
        }
        ++delivered;
      }
    }
    alice_db_.commit();
    alice_db_.exec("PRAGMA synchronous = FULL");
    return delivered;
  }

  void receive() {
    zmq_pollitem_t item{router_, 0, ZMQ_POLLIN, 0};
    char peer[256];
    char frame[4096];
    std::string receipt;
    while (!stop_) {
      if (zmq_poll(&item, 1, 10) <= 0) continue;
      int peer_size = 0;
      receipt.clear();
      bob_db_.begin();
      for (int n = 0; n < kBareBatch; ++n) {
        const int size = zmq_recv(router_, peer, sizeof peer, ZMQ_DONTWAIT);
        if (size < 0) break;
        peer_size = size;
        const int frame_size = zmq_recv(router_, frame, sizeof frame, 0);
        if (frame_size < 1 || frame_size > static_cast<int>(sizeof frame)) bare_failed("frame");
        crypto::Ciphertext ciphertext;
        ciphertext.type = static_cast<crypto::Ciphertext::Type>(frame[0]);
        ciphertext.bytes.assign(frame + 1, frame + frame_size);
        auto plaintext = bob_.engine->decrypt(alice_id_, ciphertext);
        if (!plaintext.is_ok() || plaintext.value().size() < kIdSize) bare_failed("decrypt");
        const Bytes& message = plaintext.value();
        bob_db_.insert(ByteView(message.data(), kIdSize), alice_id_, alice_id_, false,
                       std::string_view(reinterpret_cast<const char*>(message.data()) + kIdSize,
                                        message.size() - kIdSize),
                       3);
        receipt.append(reinterpret_cast<const char*>(message.data()), kIdSize);
      }
      if (!receipt.empty()) bob_db_.store_session(bob_, alice_id_);
      bob_db_.commit();
      bob_committed_at_ = Stopwatch::now().time_since_epoch().count();
      if (receipt.empty()) continue;
      zmq_send(router_, peer, static_cast<size_t>(peer_size), ZMQ_SNDMORE);
      zmq_send(router_, receipt.data(), receipt.size(), 0);
    }
  }

  MemorySignal alice_;
  MemorySignal bob_;
  const std::string alice_id_;
  const std::string bob_id_;
  BareArchive alice_db_;
  BareArchive bob_db_;
  void* alice_ctx_ = zmq_ctx_new();
  void* bob_ctx_ = zmq_ctx_new();
  void* dealer_ = nullptr;
  void* router_ = nullptr;
  sqlite3_stmt* add_to_outbox_ = nullptr;
  sqlite3_stmt* mark_delivered_ = nullptr;
  sqlite3_stmt* clear_outbox_ = nullptr;
  std::atomic<Stopwatch::rep> bob_committed_at_{0};
  std::atomic<bool> stop_{false};
  std::thread receiver_;
};

TextFigures measure_text() {
  TextFigures out;
  out.throughput_msgs_per_s = measure_throughput().value_or(NAN);
  const auto latencies = measure_latency();
  out.latency_p50_us = latencies ? latencies->p50_us : NAN;
  out.latency_p99_us = latencies ? latencies->p99_us : NAN;
  out.na = take_unavailable_reason();
  return out;
}

TextFigures measure_text_bare() {
  if (sodium_init() < 0) bare_failed("libsodium did not initialise");
  TextFigures out;
  {
    BareFlood flood;
    out.throughput_msgs_per_s = median_flood_rate(flood).value_or(NAN);
  }
  BareFlood pair;
  const auto latencies =
      latency_percentiles([&](const std::string& text) { return pair.one_latency_us(text); });
  out.latency_p50_us = latencies ? latencies->p50_us : NAN;
  out.latency_p99_us = latencies ? latencies->p99_us : NAN;
  out.na = take_unavailable_reason();
  return out;
}

}  // namespace

const TextFigures& text_figures() {
  static const TextFigures figures = measure_text();
  return figures;
}

const TextFigures& text_figures_bare() {
  static const TextFigures figures = measure_text_bare();
  return figures;
}

}  // namespace sotto::bench
