#include "tests/scale/scale_run.h"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <thread>

#include "sotto/core/control_client.h"
#include "tests/scale/neighbour_table.h"
#include "tests/support/daemon.h"
#include "tests/support/netns.h"
#include "tests/support/proc_probe.h"

namespace sotto::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kChannel = "ops";

// Deadlines of the phases: far beyond the issue's targets, so that a miss means stuck, not slow.
constexpr milliseconds kDiscoveryDeadline = 40s;
constexpr milliseconds kContactDeadline = 60s;
constexpr milliseconds kChannelDeadline = 60s;
constexpr milliseconds kTextDeadline = 15s;
// Beyond the recording's own length: the jitter buffer's delay and the clip's archiving.
constexpr milliseconds kPttAfterTalk = 20s;

int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double ms_since(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

double mean(const std::vector<double>& values) {
  if (values.empty()) return 0;
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

// A fingerprint prefix the CLI resolves to exactly one peer.
std::string prefix_of(const std::string& fingerprint) {
  return fingerprint.substr(0, 16);
}

// One host of the LAN: its namespace, its profile and daemon, and a control connection to it.
struct ScaleNode {
  ScaleNode(const std::string& name, NetnsLab::Host lan_host) : profile(name), host(lan_host) {
    profile.set_discovery(true);
    profile.set_launcher({ip_binary(), "netns", "exec", host.netns, sotto_binary()});
  }

  json request(const json& body) const {
    auto reply = control->request(body.dump(), 10000);
    if (!reply.is_ok()) {
      throw std::runtime_error(profile.dir() + ": " + body.dump() + ": " +
                               reply.status().message());
    }
    return json::parse(reply.value());
  }

  DaemonProfile profile;
  NetnsLab::Host host;
  // Declared after the profile: closed before its daemon stops.
  std::unique_ptr<core::ControlClient> control;
  Steady::time_point started_at;
};

class ScaleLab {
 public:
  ScaleLab(const ScaleOptions& options, std::unique_ptr<NetnsLab> lab)
      : options_(options), lab_(std::move(lab)) {}
  ~ScaleLab() {
    // Every daemon is told at once, so their shutdowns overlap; the profiles then reap them.
    for (const auto& node : nodes_) {
      if (node && node->profile.pid() > 0) ::kill(node->profile.pid(), SIGTERM);
    }
  }
  ScaleLab(const ScaleLab&) = delete;
  ScaleLab& operator=(const ScaleLab&) = delete;

  ScaleReport run() {
    options_.note("scale: " + std::to_string(options_.nodes) + " daemons in network namespaces");
    set_up_hosts();
    start_daemons();
    report_.all_see_all = discovery();
    idle();
    if (!contacts()) return report_;
    links();
    report_.channel_built = channel();
    if (!report_.channel_built) return report_;
    // The first text follows the build at once, while sender keys may still be on their way;
    // the second shows a text's cost once they are there.
    report_.text_reached_all =
        text("scale_channel_text_all_ms") && text("scale_channel_text_again_all_ms");
    report_.ptt_heard = ptt();
    return report_;
  }

 private:
  // --- phases -----------------------------------------------------------------------------------

  void set_up_hosts() {
    std::vector<NetnsLab::Host> hosts;
    for (int i = 0; i < options_.nodes; ++i) {
      hosts.push_back(lab_->add_host());
      check_interrupted();
    }
    table_ =
        std::make_unique<RaisedNeighbourTable>(options_.nodes, hosts.front().netns, options_.note);
    nodes_.resize(hosts.size());
    in_parallel(hosts.size(), [&](size_t i) {
      nodes_[i] = std::make_unique<ScaleNode>("node" + std::to_string(i), hosts[i]);
    });
  }

  void start_daemons() {
    const auto start = Steady::now();
    in_parallel(nodes_.size(), [&](size_t i) {
      ScaleNode& node = *nodes_[i];
      node.profile.start({"--interface", node.host.interface}, "tcp://" + node.host.address + ":0");
      node.started_at = Steady::now();
    });
    for (auto& node : nodes_) {
      auto client = core::ControlClient::connect(node->profile.dir());
      if (!client.is_ok()) throw std::runtime_error("control socket: " + client.status().message());
      node->control = std::move(client).value();
    }
    figure("scale_start_all_ms", ms_since(start), "ms");
  }

  bool discovery() {
    Steady::time_point last_start = nodes_.front()->started_at;
    for (const auto& node : nodes_) last_start = std::max(last_start, node->started_at);
    const size_t others = nodes_.size() - 1;
    std::vector<std::optional<double>> done_ms(nodes_.size());
    std::vector<size_t> seen(nodes_.size(), 0);
    const auto deadline = last_start + kDiscoveryDeadline;
    for (;;) {
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (done_ms[i]) continue;
        seen[i] = online_others(i);
        if (seen[i] == others) done_ms[i] = ms_since(last_start);
      }
      const size_t complete = static_cast<size_t>(std::count_if(
          done_ms.begin(), done_ms.end(), [](const auto& d) { return d.has_value(); }));
      if (complete == nodes_.size()) {
        double last = 0;
        for (const auto& d : done_ms) last = std::max(last, *d);
        figure("scale_discovery_all_ms", last, "ms");
        return true;
      }
      if (Steady::now() >= deadline) {
        figure("scale_discovery_all_ms", ms_since(last_start), "ms");
        missed("discovery: deadline " + std::to_string(kDiscoveryDeadline.count()) +
               " ms: " + std::to_string(complete) + " of " + std::to_string(nodes_.size()) +
               " nodes list all others online (fewest seen: " +
               std::to_string(*std::min_element(seen.begin(), seen.end())) + " of " +
               std::to_string(others) + ")");
        return false;
      }
      // A sweep asks every node that is not done for its whole peer table: often enough to time
      // a target of seconds, seldom enough not to load the nodes it times.
      pause(100ms);
    }
  }

  void idle() {
    pause(options_.idle_settle);
    struct Sample {
      double cpu_s = 0;
      double beacons = 0;
    };
    // A node's CPU is read after the first stats request and before the last, so the window
    // holds what the node did on its own and none of the harness's asking.
    enum class Edge { kStart, kEnd };
    auto sample = [&](Edge edge) {
      std::vector<Sample> samples;
      for (const auto& node : nodes_) {
        Sample taken;
        if (edge == Edge::kEnd) taken.cpu_s = cpu_seconds(node->profile.pid()).value_or(0);
        const json counters = node->request({{"cmd", "stats"}}).value("counters", json::object());
        if (edge == Edge::kStart) taken.cpu_s = cpu_seconds(node->profile.pid()).value_or(0);
        taken.beacons = counters.value("beacons_received", 0.0);
        samples.push_back(taken);
      }
      return samples;
    };
    const auto window_start = Steady::now();
    const std::vector<Sample> before = sample(Edge::kStart);
    pause(options_.idle_window);
    const std::vector<Sample> after = sample(Edge::kEnd);
    const double seconds = ms_since(window_start) / 1000.0;
    std::vector<double> cpu_pct, beacons_per_s, rss_mib, links;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      cpu_pct.push_back(100.0 * (after[i].cpu_s - before[i].cpu_s) / seconds);
      beacons_per_s.push_back((after[i].beacons - before[i].beacons) / seconds);
      rss_mib.push_back(static_cast<double>(rss_kib(nodes_[i]->profile.pid())) / 1024);
      links.push_back(static_cast<double>(established_remotes(nodes_[i]->profile.pid()).size()));
    }
    figure("scale_idle_cpu_per_node_pct", mean(cpu_pct), "%");
    figure("scale_idle_cpu_all_nodes_pct", mean(cpu_pct) * static_cast<double>(nodes_.size()), "%");
    figure("scale_beacons_rx_per_node_per_s", mean(beacons_per_s), "/s");
    figure("scale_rss_per_node_mib", mean(rss_mib), "MiB");
    figure("scale_links_idle_per_node", mean(links), "links");
  }

  bool contacts() {
    const auto start = Steady::now();
    ScaleNode& admin = *nodes_.front();
    // The admin greets each node 1:1: that makes it the node's contact, whom the node can
    // verify, so the channel's roster later arrives as a membership, not an invitation.
    try {
      in_parallel(nodes_.size() - 1, [&](size_t i) {
        const std::string member = prefix_of(nodes_[i + 1]->profile.fingerprint());
        admin.profile.sotto_ok({"add", member});
        admin.profile.sotto_ok({"verify", member, "--confirm"});
        admin.profile.sotto_ok({"send", member, "hello from the admin"});
      });
    } catch (const ScaleInterrupted&) {
      throw;
    } catch (const std::exception& e) {
      missed(std::string("contacts: the admin adding a node: ") + e.what());
      return false;
    }
    const std::string admin_fingerprint = admin.profile.fingerprint();
    const auto deadline = start + kContactDeadline;
    std::vector<bool> greeted(nodes_.size(), false);
    greeted[0] = true;
    for (;;) {
      for (size_t i = 1; i < nodes_.size(); ++i) {
        if (greeted[i]) continue;
        const json reply = nodes_[i]->request({{"cmd", "contacts"}});
        for (const json& contact : reply.value("contacts", json::array())) {
          if (contact.value("fingerprint", "") == admin_fingerprint) greeted[i] = true;
        }
      }
      const auto count = std::count(greeted.begin(), greeted.end(), true);
      if (static_cast<size_t>(count) == nodes_.size()) break;
      if (Steady::now() >= deadline) {
        missed("contacts: deadline " + std::to_string(kContactDeadline.count()) +
               " ms: " + std::to_string(count - 1) + " of " + std::to_string(nodes_.size() - 1) +
               " nodes got the admin's greeting");
        return false;
      }
      pause(20ms);
    }
    in_parallel(nodes_.size() - 1, [&](size_t i) {
      nodes_[i + 1]->profile.sotto_ok({"verify", prefix_of(admin_fingerprint), "--confirm"});
    });
    figure("scale_contacts_ms", ms_since(start), "ms");
    return true;
  }

  // Links on demand: a node holds links to its contacts only; the admin's are everyone.
  void links() {
    const size_t members = nodes_.size() - 1;
    auto member_links = [&] {
      std::vector<double> counts;
      for (size_t i = 1; i < nodes_.size(); ++i) {
        counts.push_back(static_cast<double>(established_remotes(nodes_[i]->profile.pid()).size()));
      }
      return counts;
    };
    const auto deadline = Steady::now() + options_.links_deadline;
    std::vector<double> counts = member_links();
    while (Steady::now() < deadline &&
           !std::all_of(counts.begin(), counts.end(), [](double c) { return c == 1; })) {
      pause(200ms);
      counts = member_links();
    }
    figure("scale_links_per_node", mean(counts), "links");
    figure("scale_links_admin",
           static_cast<double>(established_remotes(nodes_.front()->profile.pid()).size()), "links");
    figure("scale_links_expected_per_node", 1, "links");
    figure("scale_links_expected_admin", static_cast<double>(members), "links");
  }

  bool channel() {
    for (size_t i = 1; i < nodes_.size(); ++i) subscribe(*nodes_[i]);
    ScaleNode& admin = *nodes_.front();
    std::string members;
    for (size_t i = 1; i < nodes_.size(); ++i) {
      members += (members.empty() ? "" : ",") + prefix_of(nodes_[i]->profile.fingerprint());
    }
    const int64_t start = wall_ms();
    const CommandResult created =
        admin.profile.sotto({"channel", "create", kChannel, "--members", members});
    if (created.exit_code != 0 && !invite_one_by_one(created)) return false;
    const size_t all = nodes_.size();
    const auto joined = wait_for_events(
        [&](const json& event) {
          if (event.value("event", "") != "channel") return false;
          const json channel = event.value("channel", json::object());
          return channel.value("name", "") == kChannel && channel.value("state", "") == "member" &&
                 channel.value("members", json::array()).size() == all;
        },
        kChannelDeadline);
    return finish_fan_out("scale_channel_build_ms",
                          "channel: members holding #ops with all " + std::to_string(all), start,
                          joined, kChannelDeadline);
  }

  bool text(const std::string& figure_name) {
    const std::string body = figure_name + " " + std::to_string(wall_ms());
    const int64_t start = wall_ms();
    nodes_.front()->profile.sotto_ok({"send", std::string("#") + kChannel, body});
    options_.note("scale: " + figure_name + ": `sotto send` returned after " +
                  std::to_string(wall_ms() - start) + " ms");
    const auto committed = wait_for_events(
        [&](const json& event) {
          return event.value("event", "") == "message" &&
                 event.value("message", json::object()).value("body", "") == body;
        },
        kTextDeadline);
    return finish_fan_out(figure_name, "text: members that committed it", start, committed,
                          kTextDeadline);
  }

  bool ptt() {
    if (!std::filesystem::exists(options_.talk_wav)) {
      missed("ptt: no recording " + options_.talk_wav + " (make deps installs alsa-utils)");
      return false;
    }
    nodes_.front()->profile.sotto_ok(
        {"talk", std::string("#") + kChannel, "--wav", options_.talk_wav});
    std::map<size_t, json> ended;
    const auto heard = wait_for_events(
        [&](const json& event) {
          return event.value("event", "") == "voice" && event.value("phase", "") == "ended" &&
                 !event.value("voice", json::object()).value("outgoing", true);
        },
        kPttAfterTalk, &ended);
    double expected_each = 0;
    for (const auto& [i, voice] : ended) {
      expected_each = std::max(expected_each, voice.value("frames_sent", 0.0));
    }
    double expected = 0, lost = 0;
    bool all_heard = ended.size() == nodes_.size() - 1;
    for (size_t i = 1; i < nodes_.size(); ++i) {
      auto it = ended.find(i);
      const double sent = it == ended.end() ? expected_each : it->second.value("frames_sent", 0.0);
      const double received = it == ended.end() ? 0 : it->second.value("frames_received", 0.0);
      if (received <= 0) all_heard = false;
      expected += sent;
      lost += std::max(0.0, sent - received);
    }
    figure("scale_ptt_frames_lost_pct", expected > 0 ? 100.0 * lost / expected : 100.0, "%");
    if (heard.size() < nodes_.size() - 1) {
      missed("ptt: deadline " + std::to_string(kPttAfterTalk.count()) +
             " ms after the talk: " + std::to_string(heard.size()) + " of " +
             std::to_string(nodes_.size() - 1) + " listeners heard the transmission end live");
    }
    return all_heard;
  }

  // --- helpers ----------------------------------------------------------------------------------

  // main's CLI has no --members: the channel is built the old way, one invite per member, so
  // that the figure is there to compare with.
  bool invite_one_by_one(const CommandResult& refused) {
    if (refused.err.find("--members") == std::string::npos) {
      missed("channel: create --members failed: " + refused.err);
      return false;
    }
    options_.note("channel: this build has no `channel create --members`; one invite per member");
    ScaleNode& admin = *nodes_.front();
    try {
      admin.profile.sotto_ok({"channel", "create", kChannel});
      for (size_t i = 1; i < nodes_.size(); ++i) {
        admin.profile.sotto_ok(
            {"channel", "invite", kChannel, prefix_of(nodes_[i]->profile.fingerprint())});
        check_interrupted();
      }
    } catch (const ScaleInterrupted&) {
      throw;
    } catch (const std::exception& e) {
      missed(std::string("channel: ") + e.what());
      return false;
    }
    return true;
  }

  // Figure `name`: from `start` (wall ms) to the last member's event; when some never came, the
  // time waited, and a line saying how many did.
  bool finish_fan_out(const std::string& name, const std::string& what, int64_t start,
                      const std::map<size_t, int64_t>& at_ms, milliseconds deadline) {
    const size_t members = nodes_.size() - 1;
    if (at_ms.size() < members) {
      figure(name, static_cast<double>(wall_ms() - start), "ms");
      missed(what + ": " + std::to_string(at_ms.size()) + " of " + std::to_string(members) +
             " within the deadline of " + std::to_string(deadline.count()) + " ms");
      return false;
    }
    std::vector<int64_t> after;
    for (const auto& [i, at] : at_ms) after.push_back(std::max<int64_t>(at - start, 0));
    std::sort(after.begin(), after.end());
    // How the arrivals spread tells a queue (a steady climb) from a straggler (one late).
    options_.note("scale: " + name + ": first " + std::to_string(after.front()) + " ms, median " +
                  std::to_string(after[after.size() / 2]) + " ms, last " +
                  std::to_string(after.back()) + " ms");
    figure(name, static_cast<double>(after.back()), "ms");
    return true;
  }

  void subscribe(const ScaleNode& node) {
    const json reply = node.request({{"cmd", "subscribe"}});
    if (!reply.value("ok", false)) throw std::runtime_error("subscribe: " + reply.dump());
  }

  // The node's own time (at_ms: its wall clock, which every daemon here shares) of the first
  // event each member pushes that `wanted` accepts, within `deadline`. `matched` (when given)
  // gets each such event's "voice" object.
  std::map<size_t, int64_t> wait_for_events(const std::function<bool(const json&)>& wanted,
                                            milliseconds deadline,
                                            std::map<size_t, json>* matched = nullptr) {
    std::map<size_t, int64_t> at_ms;
    const auto end = Steady::now() + deadline;
    while (at_ms.size() < nodes_.size() - 1 && Steady::now() < end) {
      bool any = false;
      for (size_t i = 1; i < nodes_.size(); ++i) {
        if (at_ms.count(i)) continue;
        for (;;) {
          auto event = nodes_[i]->control->next_event(0);
          if (!event.is_ok() || !event.value()) break;
          any = true;
          const json parsed = json::parse(*event.value(), nullptr, false);
          if (!parsed.is_object() || !wanted(parsed)) continue;
          at_ms[i] = parsed.value("at_ms", int64_t{0});
          if (matched) (*matched)[i] = parsed.value("voice", json::object());
          break;
        }
      }
      // The figures are the nodes' own event times: polling more often buys no precision.
      if (!any) pause(20ms);
    }
    return at_ms;
  }

  // How many of the other nodes node `i` lists online.
  size_t online_others(size_t i) {
    const json reply = nodes_[i]->request({{"cmd", "peers"}});
    size_t online = 0;
    for (const json& peer : reply.value("peers", json::array())) {
      if (peer.value("state", "") != "online") continue;
      const std::string fingerprint = peer.value("fingerprint", "");
      for (size_t j = 0; j < nodes_.size(); ++j) {
        if (j != i && nodes_[j]->profile.fingerprint() == fingerprint) ++online;
      }
    }
    return online;
  }

  // Runs fn(0..count-1) on options_.parallel threads; rethrows the first exception.
  void in_parallel(size_t count, const std::function<void(size_t)>& fn) {
    std::atomic<size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    std::vector<std::thread> workers;
    const size_t width = std::min(count, static_cast<size_t>(std::max(1, options_.parallel)));
    for (size_t w = 0; w < width; ++w) {
      workers.emplace_back([&] {
        for (size_t i; (i = next++) < count;) {
          try {
            check_interrupted();
            fn(i);
          } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) error = std::current_exception();
            next = count;
          }
        }
      });
    }
    for (auto& worker : workers) worker.join();
    if (error) std::rethrow_exception(error);
  }

  // A measurement window or a poll interval: sleeps, waking to notice an interruption.
  void pause(milliseconds duration) {
    const auto end = Steady::now() + duration;
    while (Steady::now() < end) {
      check_interrupted();
      std::this_thread::sleep_for(std::min<Steady::duration>(50ms, end - Steady::now()));
    }
  }

  void check_interrupted() const {
    if (options_.interrupted && options_.interrupted->load()) throw ScaleInterrupted();
  }

  void figure(const std::string& name, double value, const std::string& unit) {
    report_.figures.push_back({name, value, unit});
    options_.on_figure(report_.figures.back());
  }

  void missed(const std::string& why) {
    report_.missed.push_back(why);
    options_.note(why);
  }

  const ScaleOptions& options_;
  ScaleReport report_;
  // Torn down in reverse: the daemons first, then the namespaces, then the thresholds.
  std::unique_ptr<RaisedNeighbourTable> table_;
  std::unique_ptr<NetnsLab> lab_;
  std::vector<std::unique_ptr<ScaleNode>> nodes_;
};

}  // namespace

std::optional<double> ScaleReport::figure(const std::string& name) const {
  for (const auto& f : figures) {
    if (f.name == name) return f.value;
  }
  return std::nullopt;
}

std::string format_value(double value) {
  std::ostringstream out;
  // Three significant digits below 100: an idle node's CPU is a few hundredths of a percent.
  const int decimals = value >= 100 ? 0 : value >= 1 ? 2 : value >= 0.1 ? 3 : 4;
  out << std::fixed << std::setprecision(decimals) << value;
  return out.str();
}

std::optional<ScaleReport> run_scale(const ScaleOptions& options, std::string& why_not) {
  if (options.nodes < 2) throw std::runtime_error("the scale harness needs at least 2 nodes");
  auto lab = NetnsLab::create(why_not);
  if (!lab) return std::nullopt;
  ScaleLab scale(options, std::move(lab));
  return scale.run();
}

std::vector<std::string> threshold_failures(const ScaleReport& report, int nodes) {
  std::vector<std::string> failures;
  auto check = [&](const std::string& name, const std::string& limit_text,
                   const std::function<bool(double)>& within) {
    const auto value = report.figure(name);
    if (!value) {
      failures.push_back(name + ": not measured");
    } else if (!within(*value)) {
      failures.push_back(name + " " + format_value(*value) + ": the limit is " + limit_text);
    }
  };
  const double beacon_limit = nodes / 5.0 + 5;
  check("scale_discovery_all_ms", "10000 ms", [](double v) { return v <= 10000; });
  check("scale_beacons_rx_per_node_per_s", format_value(beacon_limit) + " (N/5 + 5)",
        [&](double v) { return v <= beacon_limit; });
  check("scale_links_per_node", "1 (its contacts)", [](double v) { return v == 1; });
  check("scale_links_admin", std::to_string(nodes - 1) + " (its contacts)",
        [&](double v) { return v == nodes - 1; });
  check("scale_channel_build_ms", "5000 ms", [](double v) { return v <= 5000; });
  check("scale_channel_text_all_ms", "1000 ms", [](double v) { return v <= 1000; });
  check("scale_ptt_frames_lost_pct", "1 %", [](double v) { return v <= 1; });
  return failures;
}

}  // namespace sotto::test
