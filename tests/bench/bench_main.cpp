// `make bench`: sotto's costs beside the bare library's cost of the same work.
// Prints one figure per line as `name value unit`; a `_bare` twin is the same loop without sotto.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sotto/core/account.h"
#include "sotto/core/control_client.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/profile.h"
#include "tests/bench/bare_sqlcipher.h"
#include "tests/bench/bench.h"
#include "tests/support/netns.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kArchiveRows = 4000;
constexpr int kDurableRows = 300;  // fsync-bound: 1-4 ms each on this VM's disk
constexpr int kWarmupRows = 50;
constexpr int kSignalMessages = 3000;
constexpr int kRepeats = 3;
const std::string kBody(180, 'm');  // a typical chat line plus framing

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Runs `body` kRepeats times and returns the median of what it measured.
double median_of(const std::function<double()>& body) {
  std::vector<double> runs;
  for (int i = 0; i < kRepeats; ++i) runs.push_back(body());
  return median(runs);
}

void print(const char* name, double value, const char* unit) {
  std::printf("%s %.1f %s\n", name, value, unit);
  std::fflush(stdout);
}

[[noreturn]] void die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "bench: %s: %s\n", what.c_str(), status.message().c_str());
  std::exit(1);
}

template <typename T>
T must(Result<T> result, const std::string& what) {
  if (!result.is_ok()) die(what, result.status());
  return std::move(result).value();
}

void must(const Status& status, const std::string& what) {
  if (!status.is_ok()) die(what, status);
}

SecretBytes pass(const char* text) {
  return SecretBytes::copy_of(std::string_view(text));
}

storage::MessageRecord message(int i) {
  storage::MessageRecord m;
  m.message_id.resize(16);
  for (int b = 0; b < 4; ++b) m.message_id[b] = static_cast<uint8_t>(i >> (8 * b));
  m.conversation = std::string(64, 'c');
  m.sender = std::string(64, 's');
  m.body = kBody;
  m.sent_at = i;
  m.received_at = i;
  m.state = storage::MessageState::kReceived;
  return m;
}

}  // namespace

namespace sotto::bench {

std::unique_ptr<crypto::SignalEngine> memory_signal_engine() {
  auto engine =
      must(crypto::SignalEngine::create(must(crypto::SignalEngine::generate_identity(), "identity"),
                                        crypto::make_memory_signal_state()),
           "engine");
  must(engine->rotate_signed_pre_key(), "signed pre-key");
  must(engine->replenish_pre_keys(true).status(), "pre-keys");
  return engine;
}

}  // namespace sotto::bench

namespace {

// --- KDF + open --------------------------------------------------------------------------------

double bench_kdf_open_ms() {
  test::TempDir tmp;
  const std::string dir = tmp / "p";
  must(storage::Profile::create(dir, pass("bench"), storage::KdfParams::moderate()).status(),
       "create");
  return median_of([&] {
    auto start = Clock::now();
    auto profile = must(storage::Profile::open(dir, pass("bench")), "open");
    return seconds_since(start) * 1000.0;
  });
}

// --- archive inserts ---------------------------------------------------------------------------

double bench_archive_inserts() {
  return median_of([] {
    test::TempDir tmp;
    auto profile =
        must(storage::Profile::create(tmp / "p", pass("bench"), storage::KdfParams::interactive()),
             "create");
    storage::Database& db = profile->db();
    storage::MessageRepo repo(db);
    auto start = Clock::now();
    for (int i = 0; i < kArchiveRows; ++i) {
      storage::Transaction tx(db);
      must(tx.begin_status(), "begin");
      must(repo.insert(message(i)).status(), "insert");
      must(tx.commit(), "commit");
    }
    return kArchiveRows / seconds_since(start);
  });
}

// The same rows through a bare SQLCipher connection (bare_sqlcipher.h). Returns rows (= commits)
// per second.
using bench::Sync;
double bare_inserts_per_s(Sync sync, int rows) {
  test::TempDir tmp;
  sqlite3* db = bench::open_bare_sqlcipher(tmp / "bare.db", sync);
  sqlite3_stmt* insert = bench::prepare_bare_insert(db);
  auto insert_row = [&](int i) {
    const storage::MessageRecord m = message(i);
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_bind_blob(insert, 1, m.message_id.data(), 16, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 2, m.conversation.data(), 64, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 3, m.sender.data(), 64, SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert, 4, 0);
    sqlite3_bind_int64(insert, 5, 0);
    sqlite3_bind_text(insert, 6, m.body.data(), static_cast<int>(m.body.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert, 7, m.sent_at);
    sqlite3_bind_int64(insert, 8, m.received_at);
    sqlite3_bind_int64(insert, 9, 3);
    if (sqlite3_step(insert) != SQLITE_DONE) std::exit(1);
    sqlite3_reset(insert);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  };
  for (int i = 0; i < kWarmupRows; ++i) insert_row(-1 - i);
  auto start = Clock::now();
  for (int i = 0; i < rows; ++i) insert_row(i);
  const double rate = rows / seconds_since(start);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return rate;
}

double bench_archive_inserts_bare() {
  return median_of([] { return bare_inserts_per_s(Sync::kNormal, kArchiveRows); });
}

// One bare commit of one row with synchronous=FULL: the fsync the receiver pays per message
// when messages arrive one at a time.
double bench_commit_us_bare() {
  return median_of([] { return 1e6 / bare_inserts_per_s(Sync::kFull, kDurableRows); });
}

// --- Signal round trip -------------------------------------------------------------------------

// One 100-byte message encrypted by Alice and decrypted by Bob, each step committed in its own
// transaction as the send and receive paths do; warmed up both ways first so no X3DH is timed.
double time_roundtrips(crypto::SignalEngine& alice, const std::string& alice_id,
                       crypto::SignalEngine& bob, const std::string& bob_id,
                       storage::Database* alice_db, storage::Database* bob_db) {
  const Bytes payload(100, 0x42);
  auto step = [&](crypto::SignalEngine& from, storage::Database* from_db, const std::string& to,
                  crypto::SignalEngine& at, storage::Database* at_db, const std::string& sender) {
    crypto::Ciphertext c;
    {
      std::optional<storage::Transaction> tx;
      if (from_db != nullptr) tx.emplace(*from_db);
      c = must(from.encrypt(to, payload), "encrypt");
      if (tx) must(tx->commit(), "commit");
    }
    std::optional<storage::Transaction> tx;
    if (at_db != nullptr) tx.emplace(*at_db);
    must(at.decrypt(sender, c).status(), "decrypt");
    if (tx) must(tx->commit(), "commit");
  };
  step(alice, alice_db, bob_id, bob, bob_db, alice_id);
  step(bob, bob_db, alice_id, alice, alice_db, bob_id);
  auto start = Clock::now();
  for (int i = 0; i < kSignalMessages; ++i) step(alice, alice_db, bob_id, bob, bob_db, alice_id);
  return seconds_since(start) * 1e6 / kSignalMessages;
}

double bench_signal_roundtrip() {
  return median_of([] {
    test::TempDir tmp;
    auto alice = must(
        core::Account::create(tmp / "a", pass("a"), "alice", storage::KdfParams::interactive()),
        "alice");
    auto bob =
        must(core::Account::create(tmp / "b", pass("b"), "bob", storage::KdfParams::interactive()),
             "bob");
    must(alice->signal().process_bundle(bob->fingerprint(), must(bob->signal().bundle(), "bundle")),
         "process bundle");
    return time_roundtrips(alice->signal(), alice->fingerprint(), bob->signal(), bob->fingerprint(),
                           &alice->db(), &bob->db());
  });
}

double bench_signal_roundtrip_bare() {
  return median_of([] {
    auto alice = bench::memory_signal_engine();
    auto bob = bench::memory_signal_engine();
    const std::string alice_id = crypto::fingerprint_of(alice->identity().public_key);
    const std::string bob_id = crypto::fingerprint_of(bob->identity().public_key);
    must(alice->process_bundle(bob_id, must(bob->bundle(), "bundle")), "process bundle");
    return time_roundtrips(*alice, alice_id, *bob, bob_id, nullptr, nullptr);
  });
}

// --- discovery on a LAN ------------------------------------------------------------------------
//
// Real daemons (the sotto binary beside this one, else build/sotto) in network namespaces on one
// bridge (tests/support/netns.h; zbeacon skips loopback). Three run and see each other; then a
// fourth starts and we time until each of the three reports it online. The fourth's Argon2id
// unlock (interactive KDF, ~60-100 ms) is not discovery, so the time splits at the fourth's
// "listening on" line, printed once its profile is open and its sockets are bound:
//   discovery_unlock_ms  spawn -> that line (ip netns exec, process start, unlock, bind)
//   discovery_ms         that line -> the last of the three reports it online
// discovery_ms is measured from the line, not from the spawn. Nobody can see the fourth online
// before that line: its loop (which answers ZAP) starts only after printing it. The three are
// watched through event subscriptions opened on their control sockets beforehand (what
// `sotto events --json` reads), from this process: each event is timed when it arrives, with no
// polling interval or CLI process start inside the figure.

struct DiscoveryFigures {
  double unlock_ms = NAN;
  double discovery_ms = NAN;
};

std::string sotto_beside_bench() {
  const std::filesystem::path dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  for (const auto& candidate : {dir / "sotto", dir.parent_path() / "sotto"}) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

DiscoveryFigures measure_discovery() {
  DiscoveryFigures figures;
  const std::string sotto = sotto_beside_bench();
  if (sotto.empty()) {
    std::fprintf(stderr, "bench: discovery skipped: no sotto binary beside the bench (run make)\n");
    return figures;
  }
  std::string why_not;
  auto lab = test::NetnsLab::create(why_not);
  if (!lab) {
    std::fprintf(stderr, "bench: discovery skipped: %s\n", why_not.c_str());
    return figures;
  }
  test::TempDir tmp;
  const std::string pass_file = tmp / "pass";
  test::write_file(pass_file, "bench\n");
  struct Daemon {
    std::string dir;
    std::string fingerprint;
    test::NetnsLab::Host host;
    std::unique_ptr<test::NetnsChild> child;
  };
  // A profile and a host for it; spawn() then starts its daemon.
  auto prepare = [&](const std::string& name) {
    Daemon d;
    d.dir = tmp / name;
    d.fingerprint =
        must(core::Account::create(d.dir, pass("bench"), name, storage::KdfParams::interactive()),
             "create " + name)
            ->fingerprint();
    d.host = lab->add_host();
    return d;
  };
  auto spawn = [&](Daemon& d) {
    d.child = std::make_unique<test::NetnsChild>(
        d.host.netns,
        std::vector<std::string>{sotto, "--profile", d.dir, "--passphrase-file", pass_file,
                                 "daemon", "--interface", d.host.interface});
  };
  auto listening = [](Daemon& d) {
    auto line = d.child->wait_for_line("listening on ", std::chrono::seconds(10));
    if (!line) {
      std::fprintf(stderr, "bench: discovery: a daemon did not start:\n%s\n",
                   d.child->output().c_str());
      std::exit(1);
    }
    return line->read_at;
  };
  auto online_peers = [](const Daemon& d) {
    size_t online = 0;
    auto client = core::ControlClient::connect(d.dir);
    if (!client.is_ok()) return online;
    auto reply = client.value()->request(R"({"cmd":"peers"})");
    if (!reply.is_ok()) return online;
    const auto parsed = nlohmann::json::parse(reply.value(), nullptr, false);
    if (!parsed.is_object()) return online;
    for (const auto& peer : parsed["peers"]) {
      if (peer.is_object() && peer.value("state", "") == "online") ++online;
    }
    return online;
  };

  std::vector<Daemon> three;
  for (const char* name : {"one", "two", "three"}) three.push_back(prepare(name));
  for (Daemon& d : three) spawn(d);
  for (Daemon& d : three) listening(d);
  const auto settle_by = Clock::now() + std::chrono::seconds(5);
  while (!std::all_of(three.begin(), three.end(),
                      [&](const Daemon& d) { return online_peers(d) == 2; })) {
    if (Clock::now() > settle_by) {
      std::fprintf(stderr, "bench: discovery: the first three nodes did not find each other\n");
      return figures;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::vector<std::unique_ptr<core::ControlClient>> watchers;
  for (const Daemon& d : three) {
    auto client = must(core::ControlClient::connect(d.dir), "control socket");
    auto reply = must(client->request(R"({"cmd":"subscribe"})"), "subscribe");
    if (!nlohmann::json::parse(reply, nullptr, false).value("ok", false)) {
      die("subscribe", Status::internal(reply));
    }
    watchers.push_back(std::move(client));
  }

  std::vector<double> unlock_runs, discovery_runs;
  for (int run = 0; run < kRepeats; ++run) {
    Daemon fourth = prepare("newcomer" + std::to_string(run));
    const auto spawned = Clock::now();
    spawn(fourth);
    const auto line_at = listening(fourth);
    std::vector<bool> seen(three.size(), false);
    auto last_seen = line_at;
    const auto give_up = line_at + std::chrono::seconds(5);
    while (std::find(seen.begin(), seen.end(), false) != seen.end()) {
      if (Clock::now() > give_up) {
        std::fprintf(stderr, "bench: discovery: not every node saw the newcomer within 5 s\n");
        return figures;
      }
      bool idle = true;
      for (size_t i = 0; i < watchers.size(); ++i) {
        for (;;) {
          auto event = watchers[i]->next_event(0);
          if (!event.is_ok() || !event.value()) break;
          idle = false;
          auto parsed = nlohmann::json::parse(*event.value(), nullptr, false);
          if (parsed.is_object() && parsed.value("event", "") == "peer" &&
              parsed["peer"].is_object() &&
              parsed["peer"].value("fingerprint", "") == fourth.fingerprint &&
              parsed["peer"].value("state", "") == "online" && !seen[i]) {
            seen[i] = true;
            last_seen = Clock::now();
          }
        }
      }
      if (idle) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    unlock_runs.push_back(std::chrono::duration<double, std::milli>(line_at - spawned).count());
    discovery_runs.push_back(
        std::chrono::duration<double, std::milli>(last_seen - line_at).count());
    fourth.child->stop();
  }
  figures.unlock_ms = median(unlock_runs);
  figures.discovery_ms = median(discovery_runs);
  return figures;
}

// Both figures come from one run of the LAN; whichever is asked for first measures it.
const DiscoveryFigures& discovery_figures() {
  static const DiscoveryFigures figures = measure_discovery();
  return figures;
}
double bench_discovery_ms() {
  return discovery_figures().discovery_ms;
}
double bench_discovery_unlock_ms() {
  return discovery_figures().unlock_ms;
}

// --- figures made of others --------------------------------------------------------------------

// Measures once per process, so a figure printed on its own and used again inside a sum is the
// same number.
template <double (*Measure)()>
double once() {
  static const double value = Measure();
  return value;
}

double bench_text_throughput() {
  return bench::text_figures().throughput_msgs_per_s;
}
double bench_text_latency_p50() {
  return bench::text_figures().latency_p50_us;
}
double bench_text_latency_p99() {
  return bench::text_figures().latency_p99_us;
}

// What one message costs in the bare libraries, measured in this run: a Signal encrypt + decrypt
// with in-memory stores, one bare ZeroMQ round trip with CURVE, one SQLCipher commit with
// synchronous=FULL (issue 4). The parts go to stderr.
double bench_text_latency_bare() {
  const double signal = once<bench_signal_roundtrip_bare>();
  const double zmq = once<bench::transport_roundtrip_us_bare>();
  const double commit = once<bench_commit_us_bare>();
  std::fprintf(stderr,
               "bench: text_latency_us_bare = signal %.1f + zmq round trip %.1f + commit %.1f us\n",
               signal, zmq, commit);
  return signal + zmq + commit;
}

}  // namespace

int main(int argc, char** argv) {
  // Arguments run only the figures whose name contains one of them, e.g. `sotto-bench signal`.
  const std::vector<std::string> only(argv + 1, argv + argc);
  struct Figure {
    const char* name;
    const char* unit;
    double (*measure)();
  };
  const Figure figures[] = {
      {"kdf_open_ms", "ms", bench_kdf_open_ms},
      {"archive_insert_per_s", "rows/s", bench_archive_inserts},
      {"archive_insert_per_s_bare", "rows/s", bench_archive_inserts_bare},
      {"signal_roundtrip_us", "us", bench_signal_roundtrip},
      {"signal_roundtrip_us_bare", "us", once<bench_signal_roundtrip_bare>},
      {"transport_roundtrip_us", "us", bench::transport_roundtrip_us},
      {"transport_roundtrip_us_bare", "us", once<bench::transport_roundtrip_us_bare>},
      {"text_throughput_msgs_per_s", "msgs/s", bench_text_throughput},
      {"text_throughput_msgs_per_s_bare", "msgs/s",
       [] { return bench::text_figures_bare().throughput_msgs_per_s; }},
      {"text_latency_p50_us", "us", bench_text_latency_p50},
      {"text_latency_p99_us", "us", bench_text_latency_p99},
      {"text_latency_us_bare", "us", bench_text_latency_bare},
      {"text_latency_p50_us_bare", "us", [] { return bench::text_figures_bare().latency_p50_us; }},
      {"text_latency_p99_us_bare", "us", [] { return bench::text_figures_bare().latency_p99_us; }},
      {"channel_fanout_msgs_per_s", "msgs/s", bench::channel_fanout_msgs_per_s},
      {"discovery_ms", "ms", bench_discovery_ms},
      {"discovery_unlock_ms", "ms", bench_discovery_unlock_ms},
      {"voice_frame_cpu_us", "us", bench::voice_frame_cpu_us},
      {"voice_frame_cpu_us_bare", "us", bench::voice_frame_cpu_us_bare},
      {"voice_delay_p50_ms", "ms", bench::voice_delay_p50_ms},
      {"voice_delay_p99_ms", "ms", bench::voice_delay_p99_ms},
      {"voice_delay_p99_ms_10ms", "ms", bench::voice_delay_p99_ms_10ms},
      {"voice_pipeline_p99_ms", "ms", bench::voice_pipeline_p99_ms},
      {"voice_max_listeners", "listeners", bench::voice_max_listeners},
      {"search_1m_ms", "ms", bench::search_1m_ms},
      {"search_1m_ms_bare", "ms", bench::search_1m_ms_bare},
      {"history_page_ms", "ms", bench::history_page_ms},
      {"history_page_ms_bare", "ms", bench::history_page_ms_bare},
      {"open_1m_ms", "ms", bench::open_1m_ms},
      {"open_1m_ms_bare", "ms", bench::open_1m_ms_bare},
      {"expiry_on_1m_ms", "ms", [] { return bench::expiry_figures().turn_on_ms; }},
      {"expiry_sweep_1m_ms", "ms", [] { return bench::expiry_figures().sweep_ms; }},
  };
  for (const Figure& figure : figures) {
    if (!only.empty() && std::none_of(only.begin(), only.end(), [&](const std::string& part) {
          return std::string(figure.name).find(part) != std::string::npos;
        })) {
      continue;
    }
    const double value = figure.measure();
    if (std::isnan(value)) continue;  // skipped; the reason went to stderr
    print(figure.name, value, figure.unit);
  }
  return 0;
}
