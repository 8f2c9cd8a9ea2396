// `make bench`: sotto's costs beside the bare library's cost of the same work.
// Prints one figure per line as `name value unit` (report.h: NA lines, --repeat, --markdown); a
// `_bare` twin does the same work with the same settings without sotto's code, so that it is a
// floor: where sotto beats its twin, the twin is wrong or sotto found something worth knowing.
#include <sodium.h>
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
#include "src/core/account_internals.h"
#include "storage/profile_header.h"
#include "tests/bench/bare_sqlcipher.h"
#include "tests/bench/bench.h"
#include "tests/bench/report.h"
#include "tests/support/netns.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using Stopwatch = std::chrono::steady_clock;

namespace {

constexpr int kArchiveRows = 4000;
constexpr int kDurableRows = 300;  // fsync-bound: 1-4 ms each on this VM's disk
constexpr int kWarmupRows = 50;
constexpr int kSignalMessages = 500;  // each one two fsyncs (synchronous=FULL)
constexpr int kRepeats = 3;
const std::string kBody(180, 'm');  // a typical chat line plus framing

double seconds_since(Stopwatch::time_point start) {
  return std::chrono::duration<double>(Stopwatch::now() - start).count();
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

namespace {
std::string last_unavailable;
}  // namespace

double unavailable(const std::string& why) {
  std::fprintf(stderr, "bench: %s\n", why.c_str());
  last_unavailable = why;
  return NAN;
}

double or_unavailable(double value, const std::string& why) {
  if (std::isnan(value)) last_unavailable = why;
  return value;
}

std::string take_unavailable_reason() {
  return std::exchange(last_unavailable, std::string());
}

MemorySignal memory_signal_engine() {
  auto state = crypto::make_memory_signal_state();
  crypto::SignalStateStore* store = state.get();
  auto engine =
      must(crypto::SignalEngine::create(must(crypto::SignalEngine::generate_identity(), "identity"),
                                        std::move(state)),
           "engine");
  must(engine->rotate_signed_pre_key(), "signed pre-key");
  must(engine->replenish_pre_keys(true).status(), "pre-keys");
  return {std::move(engine), store};
}

Bytes MemorySignal::session_with(const std::string& peer) const {
  auto session = must(state->load_session(peer, crypto::SignalEngine::kDeviceId), "load session");
  if (!session) die("load session", Status::not_found("no session with " + peer));
  return session->record;
}

}  // namespace sotto::bench

using bench::or_unavailable;
using bench::take_unavailable_reason;
using bench::unavailable;

namespace {

using bench::Sync;

// --- KDF + open --------------------------------------------------------------------------------

double bench_kdf_open_ms() {
  test::TempDir tmp;
  const std::string dir = tmp / "p";
  must(storage::Profile::create(dir, pass("bench"), storage::KdfParams::moderate()).status(),
       "create");
  return median_of([&] {
    auto start = Stopwatch::now();
    auto profile = must(storage::Profile::open(dir, pass("bench")), "open");
    return seconds_since(start) * 1000.0;
  });
}

// The same unlock through the bare libraries: libsodium's Argon2id with the profile's salt and
// parameters, then the database opened with that key and sotto's settings and read once.
double bench_kdf_open_ms_bare() {
  test::TempDir tmp;
  const std::string dir = tmp / "p";
  must(storage::Profile::create(dir, pass("bench"), storage::KdfParams::moderate()).status(),
       "create");
  const auto header =
      must(storage::ProfileHeader::read_file(dir + "/" + storage::Profile::kHeaderFile), "header");
  const std::string passphrase = "bench";
  return median_of([&] {
    auto start = Stopwatch::now();
    Bytes key(32);
    if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(),
                      header.salt.data(), header.kdf.opslimit, header.kdf.memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
      die("kdf", Status::internal("crypto_pwhash"));
    }
    sqlite3* db = bench::open_bare_keyed(dir + "/" + storage::Profile::kDatabaseFile,
                                         "x'" + to_hex(key) + "'", Sync::kNormal);
    const double ms = seconds_since(start) * 1000.0;
    sqlite3_close(db);
    return ms;
  });
}

// --- archive inserts ---------------------------------------------------------------------------

// Rows (= commits) per second of `insert_row` over `rows` rows, after kWarmupRows rows that fill
// the caches: sotto and its twin both get them.
double inserts_per_s(const std::function<void(int)>& insert_row, int rows) {
  for (int i = 0; i < kWarmupRows; ++i) insert_row(-1 - i);
  const auto start = Stopwatch::now();
  for (int i = 0; i < rows; ++i) insert_row(i);
  return rows / seconds_since(start);
}

double bench_archive_inserts() {
  return median_of([] {
    test::TempDir tmp;
    auto profile =
        must(storage::Profile::create(tmp / "p", pass("bench"), storage::KdfParams::interactive()),
             "create");
    storage::Database& db = profile->db();
    storage::MessageRepo repo(db);
    return inserts_per_s(
        [&](int i) {
          storage::Transaction tx(db);
          must(tx.begin_status(), "begin");
          must(repo.insert(message(i)).status(), "insert");
          must(tx.commit(), "commit");
        },
        kArchiveRows);
  });
}

// The same rows through a bare SQLCipher connection with sotto's settings (bare_sqlcipher.h).
double bare_inserts_per_s(Sync sync, int rows) {
  test::TempDir tmp;
  sqlite3* db = bench::open_bare_sqlcipher(tmp / "bare.db", sync);
  sqlite3_stmt* insert = bench::prepare_bare_insert(db);
  auto transactions = std::make_unique<bench::BareTransactions>(db);
  const double rate = inserts_per_s(
      [&](int i) {
        const storage::MessageRecord m = message(i);
        transactions->begin();
        sqlite3_bind_blob(insert, 1, m.message_id.data(), 16, SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 2, m.conversation.data(), 64, SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 3, m.sender.data(), 64, SQLITE_TRANSIENT);
        sqlite3_bind_int64(insert, 4, 0);
        sqlite3_bind_int64(insert, 5, 0);
        sqlite3_bind_text(insert, 6, m.body.data(), static_cast<int>(m.body.size()),
                          SQLITE_TRANSIENT);
        sqlite3_bind_int64(insert, 7, m.sent_at);
        sqlite3_bind_int64(insert, 8, m.received_at);
        sqlite3_bind_int64(insert, 9, 3);
        if (sqlite3_step(insert) != SQLITE_DONE) bench::sqlite_failed(db, "insert");
        sqlite3_reset(insert);
        transactions->commit();
      },
      rows);
  transactions.reset();
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

// One side of a round trip: its engine, its id, and how it makes a step durable (`step` runs
// inside).
struct Side {
  crypto::SignalEngine& engine;
  std::string id;
  std::function<void(const std::function<void()>& step)> durably;
};

// One 100-byte message encrypted by Alice and decrypted by Bob, each step committed in its own
// transaction with synchronous=FULL, as the send and receive paths do (Messenger::start); warmed
// up both ways first so no X3DH is timed.
double time_roundtrips(Side& alice, Side& bob) {
  const Bytes payload(100, 0x42);
  auto step = [&](Side& from, Side& to) {
    crypto::Ciphertext c;
    from.durably([&] { c = must(from.engine.encrypt(to.id, payload), "encrypt"); });
    to.durably([&] { must(to.engine.decrypt(from.id, c).status(), "decrypt"); });
  };
  step(alice, bob);
  step(bob, alice);
  auto start = Stopwatch::now();
  for (int i = 0; i < kSignalMessages; ++i) step(alice, bob);
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
    for (core::Account* account : {alice.get(), bob.get()}) {
      must(core::AccountInternals::db(*account).set_synchronous(storage::Synchronous::kFull),
           "synchronous");
    }
    using Internals = core::AccountInternals;
    must(Internals::signal(*alice).process_bundle(bob->fingerprint(),
                                                  must(Internals::signal(*bob).bundle(), "bundle")),
         "process bundle");
    auto in_transaction = [](storage::Database& db) {
      return [&db](const std::function<void()>& work) {
        storage::Transaction tx(db);
        work();
        must(tx.commit(), "commit");
      };
    };
    Side a{Internals::signal(*alice), alice->fingerprint(), in_transaction(Internals::db(*alice))};
    Side b{Internals::signal(*bob), bob->fingerprint(), in_transaction(Internals::db(*bob))};
    return time_roundtrips(a, b);
  });
}

// Signal on in-memory stores, each step then writing the session record it changed to bare
// SQLCipher (sotto's settings, synchronous=FULL) in a transaction of its own: the same work as
// sotto's round trip, without sotto's store, repositories or transactions.
double bench_signal_roundtrip_bare() {
  return median_of([] {
    test::TempDir tmp;
    bench::MemorySignal alice = bench::memory_signal_engine();
    bench::MemorySignal bob = bench::memory_signal_engine();
    const std::string alice_id = crypto::fingerprint_of(alice.engine->identity().public_key);
    const std::string bob_id = crypto::fingerprint_of(bob.engine->identity().public_key);
    must(alice.engine->process_bundle(bob_id, must(bob.engine->bundle(), "bundle")),
         "process bundle");
    sqlite3* alice_db = bench::open_bare_sqlcipher(tmp / "a.db", Sync::kFull);
    sqlite3* bob_db = bench::open_bare_sqlcipher(tmp / "b.db", Sync::kFull);
    double us = 0;
    {
      bench::BareSessionStore alice_store(alice_db), bob_store(bob_db);
      bench::BareTransactions alice_tx(alice_db), bob_tx(bob_db);
      auto durably = [](bench::BareTransactions& tx, bench::BareSessionStore& store,
                        const bench::MemorySignal& signal, const std::string& peer) {
        return [&tx, &store, &signal, peer](const std::function<void()>& work) {
          tx.begin();
          work();
          store.store(peer, crypto::SignalEngine::kDeviceId, signal.session_with(peer));
          tx.commit();
        };
      };
      Side a{*alice.engine, alice_id, durably(alice_tx, alice_store, alice, bob_id)};
      Side b{*bob.engine, bob_id, durably(bob_tx, bob_store, bob, alice_id)};
      us = time_roundtrips(a, b);
    }
    sqlite3_close(alice_db);
    sqlite3_close(bob_db);
    return us;
  });
}

// libsignal's encrypt and decrypt alone: in-memory stores, nothing made durable. A part of
// text_latency_us_bare, not a twin (every step of sotto's round trip is committed).
double signal_crypto_us_bare() {
  return median_of([] {
    bench::MemorySignal alice = bench::memory_signal_engine();
    bench::MemorySignal bob = bench::memory_signal_engine();
    auto as_is = [](const std::function<void()>& work) { work(); };
    Side a{*alice.engine, crypto::fingerprint_of(alice.engine->identity().public_key), as_is};
    Side b{*bob.engine, crypto::fingerprint_of(bob.engine->identity().public_key), as_is};
    must(a.engine.process_bundle(b.id, must(b.engine.bundle(), "bundle")), "process bundle");
    return time_roundtrips(a, b);
  });
}

// --- discovery on a LAN ------------------------------------------------------------------------
//
// Real daemons (the sotto binary beside this one, else build/sotto) in network namespaces on one
// bridge (tests/support/netns.h; broadcast discovery skips loopback). Three run and see each other;
// then a fourth starts and we time until each of the three reports it online. The fourth's Argon2id
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
  std::string na;
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
    unavailable("discovery: no sotto binary beside the bench (run make)");
    return figures;
  }
  std::string why_not;
  auto lab = test::NetnsLab::create(why_not);
  if (!lab) {
    unavailable("discovery: " + why_not);
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
  const auto settle_by = Stopwatch::now() + std::chrono::seconds(5);
  while (!std::all_of(three.begin(), three.end(),
                      [&](const Daemon& d) { return online_peers(d) == 2; })) {
    if (Stopwatch::now() > settle_by) {
      unavailable("discovery: the first three nodes did not find each other");
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
    const auto spawned = Stopwatch::now();
    spawn(fourth);
    const auto line_at = listening(fourth);
    std::vector<bool> seen(three.size(), false);
    auto last_seen = line_at;
    const auto give_up = line_at + std::chrono::seconds(5);
    while (std::find(seen.begin(), seen.end(), false) != seen.end()) {
      if (Stopwatch::now() > give_up) {
        unavailable("discovery: not every node saw the newcomer within 5 s");
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
            last_seen = Stopwatch::now();
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
  return bench::figures_once<DiscoveryFigures, measure_discovery>();
}
double bench_discovery_ms() {
  return or_unavailable(discovery_figures().discovery_ms, discovery_figures().na);
}
double bench_discovery_unlock_ms() {
  return or_unavailable(discovery_figures().unlock_ms, discovery_figures().na);
}

// --- figures made of others --------------------------------------------------------------------

// Measures once per process, so a figure printed on its own and used again inside a sum is the
// same number.
template <double (*Measure)()>
double once() {
  static const double value = Measure();
  return value;
}

// A figure of a set measured together, with the set's reason when it is NA.
template <const bench::TextFigures& (*Set)(), double bench::TextFigures::*Field>
double text_figure() {
  return or_unavailable(Set().*Field, Set().na);
}

// What one message costs in the bare libraries, measured in this run: a Signal encrypt + decrypt
// with in-memory stores, one bare ZeroMQ round trip with CURVE, one SQLCipher commit with
// synchronous=FULL (issue 4's sum of parts; the path itself has two commits, see
// text_latency_p50_us_bare). The parts go to stderr.
double bench_text_latency_bare() {
  const double signal = once<signal_crypto_us_bare>();
  const double zmq = once<bench::transport_roundtrip_us_bare>();
  const double commit = once<bench_commit_us_bare>();
  std::fprintf(stderr,
               "bench: text_latency_us_bare = signal %.1f + zmq round trip %.1f + commit %.1f us\n",
               signal, zmq, commit);
  return signal + zmq + commit;
}

// Every figure, in the order printed, with the twins it is compared with.
struct Figure {
  bench::FigureInfo info;
  double (*measure)();
};

const std::vector<Figure>& all_figures() {
  using bench::TextFigures;
  static const std::vector<Figure> figures = {
      {{"kdf_open_ms", "ms", {"kdf_open_ms_bare"}}, bench_kdf_open_ms},
      {{"kdf_open_ms_bare", "ms", {}}, bench_kdf_open_ms_bare},
      {{"archive_insert_per_s", "rows/s", {"archive_insert_per_s_bare"}}, bench_archive_inserts},
      {{"archive_insert_per_s_bare", "rows/s", {}}, bench_archive_inserts_bare},
      {{"signal_roundtrip_us", "us", {"signal_roundtrip_us_bare"}}, bench_signal_roundtrip},
      {{"signal_roundtrip_us_bare", "us", {}}, once<bench_signal_roundtrip_bare>},
      {{"transport_roundtrip_us", "us", {"transport_roundtrip_us_bare"}},
       bench::transport_roundtrip_us},
      {{"transport_roundtrip_us_bare", "us", {}}, once<bench::transport_roundtrip_us_bare>},
      {{"text_throughput_msgs_per_s", "msgs/s", {"text_throughput_msgs_per_s_bare"}},
       text_figure<bench::text_figures, &TextFigures::throughput_msgs_per_s>},
      {{"text_throughput_msgs_per_s_bare", "msgs/s", {}},
       text_figure<bench::text_figures_bare, &TextFigures::throughput_msgs_per_s>},
      {{"text_latency_p50_us", "us", {"text_latency_p50_us_bare", "text_latency_us_bare"}},
       text_figure<bench::text_figures, &TextFigures::latency_p50_us>},
      {{"text_latency_p99_us", "us", {"text_latency_p99_us_bare"}},
       text_figure<bench::text_figures, &TextFigures::latency_p99_us>},
      {{"text_latency_us_bare", "us", {}}, bench_text_latency_bare},
      {{"text_latency_p50_us_bare", "us", {}},
       text_figure<bench::text_figures_bare, &TextFigures::latency_p50_us>},
      {{"text_latency_p99_us_bare", "us", {}},
       text_figure<bench::text_figures_bare, &TextFigures::latency_p99_us>},
      {{"channel_fanout_msgs_per_s", "msgs/s", {}}, bench::channel_fanout_msgs_per_s},
      {{"relay_catchup_msgs_per_s", "msgs/s", {}}, bench::relay_catchup_msgs_per_s},
      {{"discovery_ms", "ms", {}}, bench_discovery_ms},
      {{"discovery_unlock_ms", "ms", {}}, bench_discovery_unlock_ms},
      {{"beacon_check_us", "us", {}}, bench::beacon_check_us},
      {{"beacon_sign_us", "us", {}}, bench::beacon_sign_us},
      {{"voice_frame_cpu_us",
        "us",
        {"voice_frame_cpu_us_bare_paced", "voice_frame_cpu_us_bare",
         "voice_frame_cpu_us_bare_pipeline"}},
       bench::voice_frame_cpu_us},
      {{"voice_frame_cpu_us_steady", "us", {}}, bench::voice_frame_cpu_us_steady},
      {{"voice_idle_cpu_us", "us", {}}, bench::voice_idle_cpu_us},
      {{"voice_frame_cpu_us_bare", "us", {}}, bench::voice_frame_cpu_us_bare},
      {{"voice_frame_cpu_us_bare_paced", "us", {}}, bench::voice_frame_cpu_us_bare_paced},
      {{"voice_frame_cpu_us_bare_pipeline", "us", {}}, bench::voice_frame_cpu_us_bare_pipeline},
      {{"voice_delay_p50_ms", "ms", {}}, bench::voice_delay_p50_ms},
      {{"voice_delay_p99_ms", "ms", {}}, bench::voice_delay_p99_ms},
      {{"voice_delay_p99_ms_10ms", "ms", {}}, bench::voice_delay_p99_ms_10ms},
      {{"voice_pipeline_p99_ms", "ms", {"voice_pipeline_p99_ms_bare"}},
       bench::voice_pipeline_p99_ms},
      {{"voice_pipeline_p99_ms_bare", "ms", {}}, bench::voice_pipeline_p99_ms_bare},
      {{"voice_max_listeners", "listeners", {}}, bench::voice_max_listeners},
      {{"search_1m_ms", "ms", {"search_1m_ms_bare"}}, bench::search_1m_ms},
      {{"search_1m_ms_bare", "ms", {}}, bench::search_1m_ms_bare},
      {{"history_page_ms", "ms", {"history_page_ms_bare"}}, bench::history_page_ms},
      {{"history_page_ms_bare", "ms", {}}, bench::history_page_ms_bare},
      {{"open_1m_ms", "ms", {"open_1m_ms_bare"}}, bench::open_1m_ms},
      {{"open_1m_ms_bare", "ms", {}}, bench::open_1m_ms_bare},
      {{"expiry_on_1m_ms", "ms", {}}, [] { return bench::expiry_figures().turn_on_ms; }},
      {{"expiry_sweep_1m_ms", "ms", {}}, [] { return bench::expiry_figures().sweep_ms; }},
  };
  return figures;
}

}  // namespace

// sotto-bench [--repeat N] [--markdown] [NAME...]: NAMEs run only the figures whose name contains
// one of them, e.g. `sotto-bench signal`; BENCH_REPEAT=N is --repeat N (report.h).
int main(int argc, char** argv) {
  std::vector<std::string> only;
  int repeat = 1;
  bool markdown = false;
  if (const char* env = std::getenv("BENCH_REPEAT"); env != nullptr && *env != '\0') {
    repeat = std::atoi(env);
  }
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--repeat" && i + 1 < argc) {
      repeat = std::atoi(argv[++i]);
    } else if (arg == "--markdown") {
      markdown = true;
    } else {
      only.push_back(arg);
    }
  }
  if (repeat < 1) {
    std::fprintf(stderr, "bench: --repeat wants a number of runs, 1 or more\n");
    return 2;
  }
  if (repeat > 1 || markdown) {
    std::vector<bench::FigureInfo> infos;
    for (const Figure& figure : all_figures()) infos.push_back(figure.info);
    return bench::run_repeated(repeat, only, infos, markdown);
  }
  for (const Figure& figure : all_figures()) {
    const std::string name = figure.info.name;
    if (!only.empty() && std::none_of(only.begin(), only.end(), [&](const std::string& part) {
          return name.find(part) != std::string::npos;
        })) {
      continue;
    }
    (void)take_unavailable_reason();
    const double value = figure.measure();
    bench::print_figure(name, value, figure.info.unit, take_unavailable_reason());
  }
  return 0;
}
