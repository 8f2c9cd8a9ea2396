#include "tests/scale/neighbour_table.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "tests/support/netns.h"

namespace sotto::test {
namespace {

const std::string kThresholdDir = "/proc/sys/net/ipv4/neigh/default/";

std::string threshold_path(size_t index) {
  return kThresholdDir + "gc_thresh" + std::to_string(index + 1);
}

long read_threshold(size_t index) {
  std::ifstream in(threshold_path(index));
  long value = -1;
  if (!(in >> value)) throw std::runtime_error("cannot read " + threshold_path(index));
  return value;
}

void write_threshold(size_t index, long value) {
  std::ofstream out(threshold_path(index));
  out << value << "\n";
  out.flush();
  if (!out) throw std::runtime_error("cannot write " + threshold_path(index) + " (needs root)");
}

// Whether `netns` sees thresholds of its own (older kernels and this one show none inside a
// namespace: the host's apply to all).
bool has_own_table(const std::string& netns) {
  bool present = false;
  run_in_netns(netns, [&] { present = std::ifstream(kThresholdDir + "gc_thresh3").good(); });
  return present;
}

}  // namespace

RaisedNeighbourTable::RaisedNeighbourTable(int hosts, const std::string& netns,
                                           const std::function<void(const std::string&)>& note) {
  if (has_own_table(netns)) {
    note("neighbour table: each namespace has its own, and a host's " + std::to_string(hosts - 1) +
         " neighbours fit its defaults; nothing changed");
    return;
  }
  // One entry per ordered pair of hosts, twice over for the entries the garbage collector has
  // not reaped yet, and the default's headroom for the rest of the machine on top.
  const long mesh = static_cast<long>(hosts) * (hosts - 1);
  const std::array<long, 3> wanted = {mesh + 128, 2 * mesh + 512, 4 * mesh + 1024};
  std::array<long, 3> raised{};
  for (size_t i = 0; i < saved_.size(); ++i) {
    saved_[i] = read_threshold(i);
    raised[i] = std::max(saved_[i], wanted[i]);
  }
  if (raised == saved_) {
    note("neighbour table: the host's gc_thresh1/2/3 (" + std::to_string(saved_[0]) + "/" +
         std::to_string(saved_[1]) + "/" + std::to_string(saved_[2]) + ") already fit " +
         std::to_string(hosts) + " hosts; nothing changed");
    return;
  }
  // Highest first, so that thresh1 <= thresh2 <= thresh3 holds at every step.
  for (size_t i = saved_.size(); i-- > 0;) write_threshold(i, raised[i]);
  changed_ = true;
  note("neighbour table: namespaces share the host's, so net.ipv4.neigh.default.gc_thresh1/2/3 " +
       std::to_string(saved_[0]) + "/" + std::to_string(saved_[1]) + "/" +
       std::to_string(saved_[2]) + " -> " + std::to_string(raised[0]) + "/" +
       std::to_string(raised[1]) + "/" + std::to_string(raised[2]) +
       " for this run; restored when it ends");
}

RaisedNeighbourTable::~RaisedNeighbourTable() {
  if (!changed_) return;
  // Lowest first, the reverse of raising them.
  for (size_t i = 0; i < saved_.size(); ++i) {
    try {
      write_threshold(i, saved_[i]);
    } catch (const std::exception&) {
      // Nothing more to do in a destructor; the next run reads whatever is there.
    }
  }
}

}  // namespace sotto::test
