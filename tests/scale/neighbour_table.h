// The kernel's neighbour (ARP) table limits, raised for one scale run and put back afterwards.
//
// N hosts in a full mesh need N(N-1) entries, and Linux keeps one table for every network
// namespace together: net.ipv4.neigh.default.gc_thresh3 (1,024 by default) overflowed at N=45 in
// issue 23, after which every broadcast was dropped at send. The thresholds are not visible inside
// a namespace on this kernel, so they are raised in the host's own namespace. Where a namespace
// has a table of its own, each holds only its N-1 neighbours and nothing is touched.
//
// Thread-safety: one thread.
#pragma once

#include <array>
#include <functional>
#include <string>

namespace sotto::test {

class RaisedNeighbourTable {
 public:
  // Raises gc_thresh1/2/3 to fit `hosts` hosts that all talk to each other (never lowers them),
  // unless `netns` has a table of its own; says what it changed, or why it changed nothing,
  // through `note` in one line. Throws std::runtime_error when a threshold it must raise cannot
  // be written (not root).
  RaisedNeighbourTable(int hosts, const std::string& netns,
                       const std::function<void(const std::string&)>& note);
  // Puts back the values it changed.
  ~RaisedNeighbourTable();
  RaisedNeighbourTable(const RaisedNeighbourTable&) = delete;
  RaisedNeighbourTable& operator=(const RaisedNeighbourTable&) = delete;

 private:
  std::array<long, 3> saved_{};
  bool changed_ = false;
};

}  // namespace sotto::test
